// Cumulative weights of a candidate list, built once per list: a weighted draw is one binary search, O(log n).
// Avoided candidates are cut out of the draw exactly (their spans skipped), so the rest keep their shares.
import type { Candidate, RandomSource } from './types.ts'

export class WeightTable<T extends Candidate> {
  readonly list: readonly T[]
  /** ends[i]: the sum of the weights of list[0..i]. */
  readonly #ends: Float64Array
  readonly #total: number
  #positions: Map<T, number> | undefined

  constructor (list: readonly T[]) {
    this.list = list
    this.#ends = new Float64Array(list.length)
    let sum = 0
    for (let i = 0; i < list.length; i++) {
      sum += list[i]!.weight
      this.#ends[i] = sum
    }
    this.#total = sum
  }

  /** A candidate drawn by weight, none of `avoid`; undefined (no draw made) when nothing is left. */
  draw (random: RandomSource, avoid?: readonly T[]): T | undefined {
    const list = this.list
    if (avoid === undefined || avoid.length === 0) {
      if (list.length <= 1) return list[0]
      return list[this.#find(random() * this.#total)]
    }
    const skipped = this.#avoidedPositions(avoid)
    if (skipped.length >= list.length) return undefined
    let total = this.#total
    for (const i of skipped) total -= list[i]!.weight
    if (skipped.length === list.length - 1) {
      // one left: no draw, as with a single candidate
      for (let i = 0; ; i++) if (!skipped.includes(i)) return list[i]
    }
    // a point on the line without the avoided spans, mapped back onto the whole line
    let r = random() * total
    for (const i of skipped) {
      const start = this.#ends[i]! - list[i]!.weight
      if (r >= start) r += list[i]!.weight
      else break
    }
    let found = this.#find(r)
    // rounding at a span's edge: step off an avoided one
    while (skipped.includes(found)) found = found + 1 < list.length ? found + 1 : 0
    return list[found]
  }

  /** Two different candidates drawn by weight, the second without the first (p2c), with no allocation. */
  drawTwo (random: RandomSource): [T, T | undefined] {
    const list = this.list
    const first = this.#find(random() * this.#total)
    const a = list[first]!
    if (list.length <= 1) return [a, undefined]
    const w = a.weight
    let r = random() * (this.#total - w)
    if (r >= this.#ends[first]! - w) r += w
    let second = this.#find(r)
    // rounding at the span's edge
    if (second === first) second = first + 1 < list.length ? first + 1 : first - 1
    this.#pair[0] = a
    this.#pair[1] = list[second]
    return this.#pair
  }

  readonly #pair: [T, T | undefined] = [undefined as unknown as T, undefined]

  /** The first position whose span ends after r (the last one if rounding takes r past the total). */
  #find (r: number): number {
    const ends = this.#ends
    let lo = 0
    let hi = ends.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ends[mid]! > r) hi = mid
      else lo = mid + 1
    }
    return lo
  }

  /** Distinct positions of the avoided candidates that are in the list, ascending (avoid is a handful). */
  #avoidedPositions (avoid: readonly T[]): number[] {
    this.#positions ??= new Map(this.list.map((c, i) => [c, i]))
    const out: number[] = []
    for (const c of avoid) {
      const i = this.#positions.get(c)
      if (i === undefined || out.includes(i)) continue
      let j = out.length
      out.push(i)
      while (j > 0 && out[j - 1]! > i) { out[j] = out[j - 1]!; j-- }
      out[j] = i
    }
    return out
  }
}
