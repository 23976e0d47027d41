// A consistent-hash ring over a candidate list, built once per list: a key goes to the first point at or after
// its hash, O(log n). Points depend only on a target's url and weight (and a scale that changes only when the
// total weight crosses a power of two), so removing a target remaps only the keys it owned, and an added
// target takes keys only onto itself.
import type { Candidate } from './types.ts'

/** Points per unit of weight, halved until the ring holds at most MAX_POINTS: share error ~1/√points. */
const POINTS_PER_WEIGHT = 1000
const MAX_POINTS = 1 << 18
/** Owner positions go into the low bits of a packed sort key (hash · 2^21 + owner). */
const OWNER_BITS = 2 ** 21

export class HashRing<T extends Candidate> {
  readonly list: readonly T[]
  readonly #hashes: Uint32Array
  readonly #owners: T[]
  readonly #ownerAt: Uint32Array

  constructor (list: readonly T[]) {
    this.list = list
    // owners in url order, so equal point hashes are ordered the same whatever the list's order
    this.#owners = [...list].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
    let totalWeight = 0
    for (const c of list) totalWeight += c.weight
    let scale = POINTS_PER_WEIGHT
    while (scale > 1e-9 && totalWeight * scale + list.length > MAX_POINTS) scale /= 2
    const counts = this.#owners.map((c) => Math.max(1, Math.round(c.weight * scale)))
    const total = counts.reduce((a, b) => a + b, 0)
    const packed = new Float64Array(total)
    let at = 0
    this.#owners.forEach((c, owner) => {
      const urlHash = fnv1a(c.url)
      for (let r = 0; r < counts[owner]!; r++) packed[at++] = pointHash(urlHash, r) * OWNER_BITS + owner
    })
    packed.sort()
    this.#hashes = new Uint32Array(total)
    this.#ownerAt = new Uint32Array(total)
    for (let i = 0; i < total; i++) {
      const hash = Math.floor(packed[i]! / OWNER_BITS)
      this.#hashes[i] = hash
      this.#ownerAt[i] = packed[i]! - hash * OWNER_BITS
    }
  }

  /** The owner of the key's hash, walking on past avoided owners (a handful) if there are any. */
  lookup (keyHash: number, avoid?: readonly T[]): T | undefined {
    const hashes = this.#hashes
    const n = hashes.length
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (hashes[mid]! < keyHash) lo = mid + 1
      else hi = mid
    }
    const start = lo === n ? 0 : lo
    if (avoid === undefined || avoid.length === 0) return this.#owners[this.#ownerAt[start]!]
    for (let step = 0, i = start; step < n; step++, i = i + 1 === n ? 0 : i + 1) {
      const owner = this.#owners[this.#ownerAt[i]!]!
      if (!avoid.includes(owner)) return owner
    }
    return undefined
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
