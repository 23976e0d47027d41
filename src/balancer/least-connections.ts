// Fewest in-flight requests relative to weight; ties are broken at random so idle targets share the load.
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

export class LeastConnectionsBalancer implements Balancer {
  readonly #random: RandomSource
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    let best: T | undefined
    let bestScore = Infinity
    let ties = 0
    for (const c of candidates) {
      // +1: a target with weight 3 and 0 in flight still ranks by what it would carry after this pick
      const score = (c.inFlight + 1) / c.weight
      if (score < bestScore) {
        bestScore = score; best = c; ties = 1
      } else if (score === bestScore) {
        // reservoir sampling keeps each tied candidate equally likely without a second array
        ties++
        if (this.#random() * ties < 1) best = c
      }
    }
    return best
  }
}
