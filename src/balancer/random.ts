// Weighted random: each target's chance is its weight over the total (cumulative weights + binary search).
import { PerList } from './per-list.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'
import { WeightTable } from './weight-table.ts'

export class RandomBalancer implements Balancer {
  readonly #random: RandomSource
  readonly #tables = new PerList<readonly Candidate[], WeightTable<Candidate>>()
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext, avoid?: readonly T[]): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    return tableFor(this.#tables, candidates).draw(this.#random, avoid) as T | undefined
  }
}

export function tableFor (tables: PerList<readonly Candidate[], WeightTable<Candidate>>, candidates: readonly Candidate[]): WeightTable<Candidate> {
  return tables.get(candidates) ?? tables.set(candidates, new WeightTable(candidates))
}

/** One weighted draw over a list, skipping `skip`: O(n), for one-off lists (a balancer keeps a WeightTable). */
export function weightedRandom<T extends Candidate> (candidates: readonly T[], random: RandomSource, skip?: T): T | undefined {
  return new WeightTable(candidates).draw(random, skip === undefined ? undefined : [skip])
}
