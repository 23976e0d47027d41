// Power of two choices: two weighted-random candidates, the one with fewer in flight (per weight) wins.
// Both draws are binary searches in the list's cumulative weights: O(log n).
import { tableFor } from './random.ts'
import { PerList } from './per-list.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'
import type { WeightTable } from './weight-table.ts'

export class P2CBalancer implements Balancer {
  readonly #random: RandomSource
  readonly #tables = new PerList<readonly Candidate[], WeightTable<Candidate>>()
  /** The avoid list of the second draw (the first pick plus the caller's), reused: picks are synchronous. */
  readonly #second: Candidate[] = []
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext, avoid?: readonly T[]): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    const table = tableFor(this.#tables, candidates)
    if (avoid === undefined || avoid.length === 0) {
      const [a, b] = table.drawTwo(this.#random)
      return (b !== undefined && b.inFlight / b.weight < a.inFlight / a.weight ? b : a) as T
    }
    const a = table.draw(this.#random, avoid)
    if (a === undefined) return undefined
    const second = this.#second
    second.length = 0
    second.push(a)
    for (const c of avoid) second.push(c)
    const b = table.draw(this.#random, second)
    second.length = 0
    if (b === undefined) return a as T
    return (b.inFlight / b.weight < a.inFlight / a.weight ? b : a) as T
  }
}
