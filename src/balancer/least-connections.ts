// Fewest in-flight requests per unit of weight (inFlight / weight, as nginx's least_conn compares them); a tie is
// broken by one weighted draw, so targets with nothing in flight share a light load by weight (3:1 weights at one
// request at a time give 75% / 25%, where an unweighted tie, or a +1 in the score, gave the heavier one all of it).
// Exact, in O(1) a pick (O(k) for a tie across k distinct weights) and O(log n) a load change: per candidate list,
// candidates sit in buckets by score, split by weight inside a bucket, and a heap keeps the lowest score on top;
// the pool reports every acquire and release (loadChanged).
import { Heap } from './heap.ts'
import { PerList } from './per-list.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

/** The tied candidates of one weight: a tie's draw picks a class by its share of the weight, then one of it. */
interface WeightClass {
  readonly weight: number
  readonly members: Slot[]
}

interface Bucket {
  readonly score: number
  /**
   * A class per weight that has been in this bucket, in the order they arrived: usually one (every target weighted
   * alike). An emptied class stays, as an emptied bucket does, so a load moving back and forth allocates nothing.
   */
  readonly classes: WeightClass[]
  /** Slots in the bucket, all classes together. */
  size: number
}

interface Slot {
  readonly candidate: Candidate
  /** undefined while set aside (avoided by the pick under way). */
  bucket: Bucket | undefined
  weightClass: WeightClass | undefined
  position: number
}

const scoreOf = (c: Candidate): number => c.inFlight / c.weight

class Board {
  readonly #slots = new Map<Candidate, Slot>()
  /** Buckets by score; an emptied one stays (map and heap alike) until it reaches the top. */
  readonly #buckets = new Map<number, Bucket>()
  readonly #heap = new Heap<Bucket>((a, b) => a.score < b.score)

  constructor (list: readonly Candidate[]) {
    for (const candidate of list) {
      if (this.#slots.has(candidate)) continue
      const slot: Slot = { candidate, bucket: undefined, weightClass: undefined, position: 0 }
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
      if (top.size > 0) return drawFrom(top, random)
      this.#heap.pop()
      this.#buckets.delete(top.score)
    }
  }

  #place (slot: Slot): void {
    const candidate = slot.candidate
    const score = scoreOf(candidate)
    let bucket = this.#buckets.get(score)
    if (bucket === undefined) {
      bucket = { score, classes: [], size: 0 }
      this.#buckets.set(score, bucket)
      this.#heap.push(bucket)
    }
    const weightClass = classOf(bucket, candidate.weight)
    bucket.size++
    slot.bucket = bucket
    slot.weightClass = weightClass
    slot.position = weightClass.members.length
    weightClass.members.push(slot)
  }

  #remove (slot: Slot): void {
    const weightClass = slot.weightClass!
    const members = weightClass.members
    const last = members.pop()!
    if (last !== slot) {
      members[slot.position] = last
      last.position = slot.position
    }
    slot.bucket!.size--
    slot.bucket = undefined
    slot.weightClass = undefined
  }
}

/** The bucket's class for `weight`, added if it has none (a bucket holds a handful: a scan, no allocation). */
function classOf (bucket: Bucket, weight: number): WeightClass {
  const classes = bucket.classes
  for (let i = 0; i < classes.length; i++) if (classes[i]!.weight === weight) return classes[i]!
  const added: WeightClass = { weight, members: [] }
  classes.push(added)
  return added
}

/** A tie's winner: no draw for a lone slot, one draw otherwise. */
function drawFrom (bucket: Bucket, random: RandomSource): Candidate {
  const classes = bucket.classes
  if (classes.length === 1) return uniformDraw(classes[0]!.members, random)
  if (bucket.size === 1) for (const c of classes) if (c.members.length === 1) return c.members[0]!.candidate
  return weightedDraw(classes, random)
}

/** One of equally weighted tied slots, uniformly: one draw (none for a single slot). */
function uniformDraw (members: readonly Slot[], random: RandomSource): Candidate {
  const n = members.length
  if (n === 1) return members[0]!.candidate
  return members[Math.min(n - 1, Math.floor(random() * n))]!.candidate
}

/**
 * One of the tied slots by weight (a bucket that is not empty): one draw over the classes' shares (weight × members,
 * an emptied class none), then the slot within the class the draw fell in.
 */
function weightedDraw (classes: readonly WeightClass[], random: RandomSource): Candidate {
  let total = 0
  for (let i = 0; i < classes.length; i++) total += classes[i]!.weight * classes[i]!.members.length
  let r = random() * total
  let last: WeightClass | undefined
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!
    const n = c.members.length
    if (n === 0) continue
    if (r < c.weight * n) return c.members[Math.min(n - 1, Math.floor(r / c.weight))]!.candidate
    r -= c.weight * n
    last = c
  }
  // rounding took r past the last share
  return last!.members[last!.members.length - 1]!.candidate
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
