// Smooth weighted round-robin, as nginx does it: weights 3:1 give a a b a, interleaved, never a burst.
import type { Balancer, Candidate, PickContext } from './types.ts'

export class RoundRobinBalancer implements Balancer {
  readonly #current = new WeakMap<Candidate, number>()

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    let total = 0
    let best: T | undefined
    let bestWeight = -Infinity
    for (const c of candidates) {
      const w = (this.#current.get(c) ?? 0) + c.weight
      this.#current.set(c, w)
      total += c.weight
      if (w > bestWeight) { bestWeight = w; best = c }
    }
    this.#current.set(best!, bestWeight - total)
    return best
  }
}
