// A consistent-hash ring over a candidate list, built once per list. Every target has POINTS points, placed by
// its url alone; a key is hashed to PROBES positions and goes to the target with the lowest score, a score being
// the distance from a probe on to one of the target's points divided by the target's weight: a weighted race,
// which target i wins with probability weight_i / Σ weight, whatever the weights (fractional ones included).
// A target's scores depend only on its url, its weight and the key, never on the other targets (the ring used to
// scale everyone's points to the pool's total weight, so one more target could move half the keys): removing a
// target moves only the keys it won, an added target takes keys only onto itself, at any size and weights.
// Several probes per key even out the shares as many more points per target would (error ~1/√(points·probes)),
// while memory stays POINTS per target (~0.8 KB). A lookup is a slice-table step plus a short walk per probe and
// weight class: O(1) in the number of targets.
import type { Candidate } from './types.ts'

const POINTS = 64
const PROBES = 16
/**
 * Weights within one ring differ at most this much. A probe walks on while a point could still beat the best
 * score (distance ≤ best · the ring's largest weight), which is ~maxWeight/minWeight points: pools with more
 * spread weights get one ring per weight class, each searched (only an accelerator: the result is the same).
 */
const CLASS_RATIO = 16
/** Floating-point slack on the walk's stop, so rounding never ends it before a point that wins. */
const SLACK = 1 + 1e-9
const PROBE_SALTS = Uint32Array.from({ length: PROBES }, (_, j) => mix32(0x9e3779b9 + j))

interface Ring {
  readonly hashes: Uint32Array
  /** Index into #owners of each point's target. */
  readonly ownerAt: Uint32Array
  readonly maxWeight: number
  /** The first point at or after each of 2^k equal slices of the hash space, so a probe starts in O(1). */
  readonly sliceStart: Uint32Array
  readonly sliceShift: number
}

export class HashRing<T extends Candidate> {
  readonly list: readonly T[]
  /** Targets in url order: an owner's index decides ties (equal scores), the same whatever the list's order. */
  readonly #owners: T[]
  readonly #weights: Float64Array
  readonly #rings: Ring[] = []
  readonly #probes = new Uint32Array(PROBES)

  constructor (list: readonly T[]) {
    this.list = list
    this.#owners = [...list].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
    this.#weights = Float64Array.from(this.#owners, (c) => c.weight)
    const byWeight = this.#owners.map((_, i) => i).sort((a, b) => this.#weights[a]! - this.#weights[b]!)
    for (let from = 0; from < byWeight.length;) {
      let to = from + 1
      while (to < byWeight.length && this.#weights[byWeight[to]!]! <= this.#weights[byWeight[from]!]! * CLASS_RATIO) to++
      this.#rings.push(this.#build(byWeight.slice(from, to)))
      from = to
    }
  }

  #build (owners: readonly number[]): Ring {
    const total = owners.length * POINTS
    let hashes = new Uint32Array(total)
    let ownerAt = new Uint32Array(total)
    let at = 0
    for (const owner of owners) {
      const urlHash = fnv1a(this.#owners[owner]!.url)
      for (let r = 0; r < POINTS; r++, at++) {
        hashes[at] = pointHash(urlHash, r)
        ownerAt[at] = owner
      }
    }
    // LSD radix sort by hash, a byte a pass: a 10,000-target ring sorts in a few ms, not ~100 (the order of equal
    // hashes does not matter: a probe's walk visits every point at the same distance)
    let hashesTo = new Uint32Array(total)
    let ownerAtTo = new Uint32Array(total)
    const starts = new Uint32Array(257)
    for (let shift = 0; shift < 32; shift += 8) {
      starts.fill(0)
      for (let i = 0; i < total; i++) starts[((hashes[i]! >>> shift) & 255) + 1]!++
      for (let b = 0; b < 256; b++) starts[b + 1]! += starts[b]!
      for (let i = 0; i < total; i++) {
        const to = starts[(hashes[i]! >>> shift) & 255]!++
        hashesTo[to] = hashes[i]!
        ownerAtTo[to] = ownerAt[i]!
      }
      ;[hashes, hashesTo] = [hashesTo, hashes]
      ;[ownerAt, ownerAtTo] = [ownerAtTo, ownerAt]
    }
    // one or two points per slice: a step or two from a slice's start to a probe's first point
    const sliceBits = Math.min(24, Math.max(1, Math.ceil(Math.log2(total)) - 1))
    const sliceShift = 32 - sliceBits
    const sliceStart = new Uint32Array(2 ** sliceBits)
    for (let slice = 0, i = 0; slice < sliceStart.length; slice++) {
      while (i < total && hashes[i]! >>> sliceShift < slice) i++
      sliceStart[slice] = i
    }
    return { hashes, ownerAt, maxWeight: this.#weights[owners[owners.length - 1]!]!, sliceStart, sliceShift }
  }

  /** The winner for the key's hash, among the targets not avoided (a handful); undefined if all are. */
  lookup (keyHash: number, avoid?: readonly T[]): T | undefined {
    const probes = this.#probes
    for (let j = 0; j < PROBES; j++) probes[j] = mix32((keyHash ^ PROBE_SALTS[j]!) >>> 0)
    const weights = this.#weights
    const owners = this.#owners
    const avoiding = avoid !== undefined && avoid.length > 0
    let best = Infinity
    let winner = -1
    for (const { hashes, ownerAt, maxWeight, sliceStart, sliceShift } of this.#rings) {
      const n = hashes.length
      for (let j = 0; j < PROBES; j++) {
        const probe = probes[j]!
        let lo = sliceStart[probe >>> sliceShift]!
        while (lo < n && hashes[lo]! < probe) lo++
        for (let step = 0, i = lo === n ? 0 : lo; step < n; step++, i = i + 1 === n ? 0 : i + 1) {
          const distance = (hashes[i]! - probe) >>> 0
          // no point further on can score below best (a distance over best·maxWeight scores above best)
          if (distance > best * maxWeight * SLACK) break
          const owner = ownerAt[i]!
          const score = distance / weights[owner]!
          if (score > best || (score === best && winner !== -1 && owner >= winner)) continue
          if (avoiding && avoid.includes(owners[owner]!)) continue
          best = score
          winner = owner
        }
      }
    }
    return winner === -1 ? undefined : owners[winner]
  }
}

function pointHash (urlHash: number, replica: number): number {
  // mixing the replica first: two targets' point sequences never coincide along a run
  return mix32((urlHash ^ mix32(replica + 1)) >>> 0)
}

export function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** murmur3's finaliser: spreads every input bit over the output (FNV-1a alone leaves similar keys close). */
export function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}
