// Weighted random: each target's chance is its weight over the total.
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

export class RandomBalancer implements Balancer {
  readonly #random: RandomSource
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext): T | undefined {
    return weightedRandom(candidates, this.#random)
  }
}

export function weightedRandom<T extends Candidate> (candidates: readonly T[], random: RandomSource, skip?: T): T | undefined {
  if (candidates.length <= 1) return skip === candidates[0] ? undefined : candidates[0]
  let total = 0
  for (const c of candidates) if (c !== skip) total += c.weight
  let r = random() * total
  let last: T | undefined
  for (const c of candidates) {
    if (c === skip) continue
    last = c
    r -= c.weight
    if (r < 0) return c
  }
  return last
}
