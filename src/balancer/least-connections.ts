// Fewest in-flight requests relative to weight; ties are broken at random so idle targets share the load.
// Exact, in O(1) a pick and O(log n) a load change: per candidate list, candidates sit in buckets by score and
// a heap keeps the lowest score on top; the pool reports every acquire and release (loadChanged). A tie is one
// draw over the lowest bucket, uniform like the reservoir sampling of a full scan.
import { Heap } from './heap.ts'
import { PerList } from './per-list.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

interface Bucket {
  readonly score: number
  readonly members: Slot[]
}

interface Slot {
  readonly candidate: Candidate
  /** undefined while set aside (avoided by the pick under way). */
  bucket: Bucket | undefined
  position: number
}

// +1: a target with weight 3 and 0 in flight still ranks by what it would carry after this pick
const scoreOf = (c: Candidate): number => (c.inFlight + 1) / c.weight

class Board {
  readonly #slots = new Map<Candidate, Slot>()
  /** Buckets by score; an emptied one stays (map and heap alike) until it reaches the top. */
  readonly #buckets = new Map<number, Bucket>()
  readonly #heap = new Heap<Bucket>((a, b) => a.score < b.score)

  constructor (list: readonly Candidate[]) {
    for (const candidate of list) {
      if (this.#slots.has(candidate)) continue
      const slot: Slot = { candidate, bucket: undefined, position: 0 }
      this.#slots.set(candidate, slot)
      this.#place(slot)
    }
  }

  update (candidate: Candidate): void {
    const slot = this.#slots.get(candidate)
    if (slot?.bucket === undefined || slot.bucket.score === scoreOf(candidate)) return
    this.#remove(slot)
    this.#place(slot)
  }

  pick (random: RandomSource, avoid: readonly Candidate[] | undefined): Candidate | undefined {
    if (avoid === undefined || avoid.length === 0) return this.#lowest(random)
    const aside: Slot[] = []
    for (const c of avoid) {
      const slot = this.#slots.get(c)
      if (slot?.bucket !== undefined) { this.#remove(slot); aside.push(slot) }
    }
    const picked = this.#lowest(random)
    for (const slot of aside) this.#place(slot)
    return picked
  }

  #lowest (random: RandomSource): Candidate | undefined {
    for (;;) {
      const top = this.#heap.peek()
      if (top === undefined) return undefined
      const n = top.members.length
      if (n === 1) return top.members[0]!.candidate
      if (n > 1) return top.members[Math.min(n - 1, Math.floor(random() * n))]!.candidate
      this.#heap.pop()
      this.#buckets.delete(top.score)
    }
  }

  #place (slot: Slot): void {
    const score = scoreOf(slot.candidate)
    let bucket = this.#buckets.get(score)
    if (bucket === undefined) {
      bucket = { score, members: [] }
      this.#buckets.set(score, bucket)
      this.#heap.push(bucket)
    }
    slot.bucket = bucket
    slot.position = bucket.members.length
    bucket.members.push(slot)
  }

  #remove (slot: Slot): void {
    const members = slot.bucket!.members
    const last = members.pop()!
    if (last !== slot) {
      members[slot.position] = last
      last.position = slot.position
    }
    slot.bucket = undefined
  }
}

export class LeastConnectionsBalancer implements Balancer {
  readonly #random: RandomSource
  readonly #boards = new PerList<readonly Candidate[], Board>()
  constructor (random: RandomSource = Math.random) { this.#random = random }

  pick<T extends Candidate> (candidates: readonly T[], _ctx?: PickContext, avoid?: readonly T[]): T | undefined {
    if (candidates.length <= 1) return candidates[0]
    const board = this.#boards.get(candidates) ?? this.#boards.set(candidates, new Board(candidates))
    return board.pick(this.#random, avoid) as T | undefined
  }

  loadChanged (candidate: Candidate): void {
    this.#boards.first?.update(candidate)
    this.#boards.second?.update(candidate)
  }
}
