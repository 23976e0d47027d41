// Power of two choices: two weighted-random candidates, the one with fewer in flight (per weight) wins.
import { weightedRandom } from './random.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

export class P2CBalancer implements Balancer {
  readonly #random: RandomSource
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    const a = weightedRandom(candidates, this.#random)!
    const b = weightedRandom(candidates, this.#random, a)!
    return b.inFlight / b.weight < a.inFlight / a.weight ? b : a
  }
}
