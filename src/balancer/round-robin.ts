// Smooth weighted round-robin, as nginx does it: weights 3:1 give a a b a, interleaved, never a burst.
// nginx adds every candidate's weight to its current value, takes the highest (the first on ties) and subtracts
// the total from it: O(n) a pick. The same sequence comes here from a schedule built once per candidate list:
// after t picks a candidate's current value is base + t·weight, so candidates of equal weight never change
// order between picks and a heap per distinct weight keeps its leader. A pick compares the leaders (one per
// distinct weight, a handful in practice) and re-sifts one heap: O(d + log n), d the number of distinct weights.
// Current values outlive a list (one WeakMap), so a target that leaves and returns, or a fresh array of the
// same candidates, goes on where it was, as with nginx.
import { Heap } from './heap.ts'
import type { Balancer, Candidate, PickContext } from './types.ts'

interface Slot {
  readonly candidate: Candidate
  /** Position in the list: the first wins a tie, as in nginx. */
  readonly index: number
  /** Current value minus t·weight. */
  base: number
}

interface Group {
  readonly weight: number
  readonly heap: Heap<Slot>
}

/** Rebase every 65,536 picks so base and t·weight stay small, exact integers for integer weights. */
const REBASE_EVERY = 1 << 16

const slotFirst = (a: Slot, b: Slot): boolean => a.base > b.base || (a.base === b.base && a.index < b.index)

class Schedule {
  readonly list: readonly Candidate[]
  readonly #total: number
  readonly #groups: Group[]
  #t = 0

  constructor (list: readonly Candidate[], current: WeakMap<Candidate, number>) {
    this.list = list
    const byWeight = new Map<number, Slot[]>()
    let total = 0
    list.forEach((candidate, index) => {
      total += candidate.weight
      const slots = byWeight.get(candidate.weight) ?? []
      slots.push({ candidate, index, base: current.get(candidate) ?? 0 })
      byWeight.set(candidate.weight, slots)
    })
    this.#total = total
    this.#groups = [...byWeight].map(([weight, slots]) => ({ weight, heap: new Heap(slotFirst, slots) }))
  }

  /** One nginx step: every value grows by its weight, the highest is picked and gives up the total. */
  step (): Candidate {
    const t = ++this.#t
    let best: Group | undefined
    let bestSlot: Slot | undefined
    let bestValue = -Infinity
    for (const group of this.#groups) {
      const slot = group.heap.peek()!
      const value = slot.base + t * group.weight
      if (value > bestValue || (value === bestValue && slot.index < bestSlot!.index)) {
        best = group; bestSlot = slot; bestValue = value
      }
    }
    bestSlot!.base -= this.#total
    best!.heap.topChanged()
    if (t >= REBASE_EVERY) this.#rebase()
    return bestSlot!.candidate
  }

  /** Writes every candidate's current value back (this list is being left). */
  save (current: WeakMap<Candidate, number>): void {
    for (const group of this.#groups) {
      for (const slot of group.heap.items) current.set(slot.candidate, slot.base + this.#t * group.weight)
    }
  }

  #rebase (): void {
    for (const group of this.#groups) {
      // the same shift for a whole group: its heap order holds
      for (const slot of group.heap.items) slot.base += this.#t * group.weight
    }
    this.#t = 0
  }
}

/**
 * The most steps a first schedule is moved on by at random: a start among the sequence's first 64 picks spreads a
 * fleet's first requests enough, and a step costs O(distinct weights) (10,000 distinct weights: ~1 ms for 64).
 */
const MAX_START_STEPS = 64

export class RoundRobinBalancer implements Balancer {
  readonly #current = new WeakMap<Candidate, number>()
  #schedule: Schedule | undefined
  /**
   * Where the first schedule starts, at random: every process, and every pool a reload rebuilds, started at the
   * first target, so a fleet of gateways started or given a config together sent their first requests, and kept in
   * step after, to one target (Envoy and gRPC start round-robin at a random point). Undefined: at the first target.
   */
  #random: (() => number) | undefined

  constructor (random?: () => number) {
    this.#random = random
  }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext, avoid?: readonly T[]): T | undefined {
    if (candidates.length <= 1) {
      // the last schedule is left for good: keep its current values, not its list (targets that may have left)
      if (this.#schedule !== undefined) {
        this.#schedule.save(this.#current)
        this.#schedule = undefined
      }
      return candidates[0]
    }
    const schedule = this.#scheduleFor(candidates)
    if (avoid === undefined || avoid.length === 0) return schedule.step() as T
    // a retry: skip the avoided targets' turns (they lose them); if they hold most of the weight, fall back to
    // nginx's own step over the rest of the list, O(n), as before
    for (let tries = 2 * avoid.length + 2; tries > 0; tries--) {
      const c = schedule.step() as T
      if (!avoid.includes(c)) return c
    }
    schedule.save(this.#current)
    this.#schedule = undefined
    return this.#linearStep(candidates.filter((c) => !avoid.includes(c)))
  }

  #scheduleFor (candidates: readonly Candidate[]): Schedule {
    const schedule = this.#schedule
    if (schedule?.list === candidates) return schedule
    schedule?.save(this.#current)
    const next = this.#schedule = new Schedule(candidates, this.#current)
    const random = this.#random
    if (random !== undefined) {
      // the first schedule only: later ones go on from the current values it leaves, as nginx's do
      this.#random = undefined
      let total = 0
      for (const c of candidates) total += c.weight
      for (let steps = Math.floor(random() * Math.min(total, MAX_START_STEPS)); steps > 0; steps--) next.step()
    }
    return next
  }

  #linearStep<T extends Candidate> (candidates: readonly T[]): T | undefined {
    let total = 0
    let best: T | undefined
    let bestWeight = -Infinity
    for (const c of candidates) {
      const w = (this.#current.get(c) ?? 0) + c.weight
      this.#current.set(c, w)
      total += c.weight
      if (w > bestWeight) { bestWeight = w; best = c }
    }
    if (best !== undefined) this.#current.set(best, bestWeight - total)
    return best
  }
}
