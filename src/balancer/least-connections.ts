// Fewest in-flight requests per unit of weight (inFlight / weight, as nginx's least_conn compares them); a tie is
// broken by one weighted draw, so targets with nothing in flight share a light load by weight (3:1 weights at one
// request at a time give 75% / 25%, where an unweighted tie, or a +1 in the score, gave the heavier one all of it).
// Exact, in O(1) a pick (O(log k) for a tie across k distinct weights) and O(log n) a load change: per candidate
// list, candidates sit in buckets by score, split by weight inside a bucket (running sums over the weights' shares
// once a bucket holds more than one), and a heap keeps the lowest score on top; the pool reports every acquire and
// release (loadChanged).
import { ShareTree } from './fenwick.ts'
import { Heap } from './heap.ts'
import { PerList } from './per-list.ts'
import type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

/** The tied candidates of one weight: a tie's draw picks a class by its share of the weight, then one of it. */
interface WeightClass {
  readonly weight: number
  readonly members: Slot[]
  /** Its place in the bucket's classes (and share tree). */
  readonly index: number
}

interface Bucket {
  readonly score: number
  /**
   * A class per weight that has been in this bucket, in the order they arrived: usually one (every target weighted
   * alike). An emptied class stays, as an emptied bucket does, so a load moving back and forth allocates nothing.
   */
  readonly classes: WeightClass[]
  /**
   * Made when a second weight arrives: the class by weight, and each class's share (weight × members) summed, so a
   * tie across a thousand weights is found and drawn in O(log k), not by a scan.
   */
  mixed: { readonly byWeight: Map<number, WeightClass>; readonly shares: ShareTree } | undefined
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
      bucket = { score, classes: [], mixed: undefined, size: 0 }
      this.#buckets.set(score, bucket)
      this.#heap.push(bucket)
    }
    const weightClass = classOf(bucket, candidate.weight)
    bucket.size++
    slot.bucket = bucket
    slot.weightClass = weightClass
    slot.position = weightClass.members.length
    weightClass.members.push(slot)
    bucket.mixed?.shares.add(weightClass.index, weightClass.weight)
  }

  #remove (slot: Slot): void {
    const weightClass = slot.weightClass!
    const members = weightClass.members
    const last = members.pop()!
    if (last !== slot) {
      members[slot.position] = last
      last.position = slot.position
    }
    const bucket = slot.bucket!
    bucket.size--
    bucket.mixed?.shares.add(weightClass.index, -weightClass.weight)
    slot.bucket = undefined
    slot.weightClass = undefined
  }
}

/** The bucket's class for `weight`, added if it has none (allocating only for a weight new to the bucket). */
function classOf (bucket: Bucket, weight: number): WeightClass {
  const classes = bucket.classes
  const first = classes[0]
  if (first?.weight === weight) return first
  let mixed = bucket.mixed
  const found = mixed?.byWeight.get(weight)
  if (found !== undefined) return found
  const added: WeightClass = { weight, members: [], index: classes.length }
  classes.push(added)
  if (mixed === undefined && classes.length > 1) {
    // a second weight: from now on the classes are found by weight and drawn by their summed shares
    mixed = bucket.mixed = { byWeight: new Map(), shares: new ShareTree() }
    mixed.byWeight.set(first!.weight, first!)
    mixed.shares.push(first!.weight * first!.members.length)
  }
  if (mixed !== undefined) {
    mixed.byWeight.set(weight, added)
    mixed.shares.push(0)
  }
  return added
}

/** A tie's winner: no draw for a lone slot, one draw otherwise. */
function drawFrom (bucket: Bucket, random: RandomSource): Candidate {
  const mixed = bucket.mixed
  if (mixed === undefined) return uniformDraw(bucket.classes[0]!.members, random)
  // a lone slot: the point 0 lands in its class, past the emptied ones
  return weightedDraw(bucket.classes, mixed.shares, bucket.size === 1 ? 0 : random() * mixed.shares.total)
}

/** One of equally weighted tied slots, uniformly: one draw (none for a single slot). */
function uniformDraw (members: readonly Slot[], random: RandomSource): Candidate {
  const n = members.length
  if (n === 1) return members[0]!.candidate
  return members[Math.min(n - 1, Math.floor(random() * n))]!.candidate
}

/**
 * The tied slot at point `r` of the line of the classes' shares (weight × members, an emptied class none), in the
 * order the classes arrived, each class's members in turn: the class by a search of the running sums, O(log k).
 */
function weightedDraw (classes: readonly WeightClass[], shares: ShareTree, r: number): Candidate {
  const index = shares.find(r)
  const c = classes[index]
  const n = c?.members.length ?? 0
  if (n > 0) return c!.members[Math.min(n - 1, Math.floor(shares.remainder / c!.weight))]!.candidate
  // rounding took r past the last share (or onto an emptied class's leftover): the last member of a class before it
  for (let i = Math.min(index, classes.length - 1); ; i = i > 0 ? i - 1 : classes.length - 1) {
    const members = classes[i]!.members
    if (members.length > 0) return members[members.length - 1]!.candidate
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
