// A count of events over the last windowMs, kept in a ring of equal time buckets so that recording
// is O(1) (amortised over the buckets that expired since the last call) and memory is fixed.
// An event is forgotten when its whole bucket has left the window: it counts for at most windowMs
// and at least windowMs − windowMs/buckets.

export interface SlidingWindowOptions {
  windowMs: number
  /** More buckets forget old events more smoothly; each costs one number. */
  buckets?: number
  now?: () => number
}

export class SlidingWindowCounter {
  readonly #bucketMs: number
  readonly #counts: number[]
  readonly #now: () => number
  /** Bucket number (time / bucketMs) of the newest bucket in the ring. */
  #newest = -Infinity
  #total = 0

  constructor (options: SlidingWindowOptions) {
    const buckets = options.buckets ?? 20
    if (!(Number.isFinite(options.windowMs) && options.windowMs > 0)) throw new RangeError(`windowMs must be a positive number, got ${options.windowMs}`)
    if (!(Number.isInteger(buckets) && buckets >= 1)) throw new RangeError(`buckets must be a whole number ≥ 1, got ${buckets}`)
    this.#bucketMs = options.windowMs / buckets
    this.#counts = new Array<number>(buckets).fill(0)
    this.#now = options.now ?? Date.now
  }

  add (n = 1): void {
    this.#advance()
    this.#counts[this.#slot(this.#newest)]! += n
    this.#total += n
  }

  count (): number {
    this.#advance()
    return this.#total
  }

  clear (): void {
    this.#counts.fill(0)
    this.#total = 0
  }

  /** Empties the buckets that fell out of the window since the last call. */
  #advance (): void {
    const current = Math.floor(this.#now() / this.#bucketMs)
    // a clock that stepped back keeps filling the newest bucket rather than reviving expired ones
    if (!(current > this.#newest)) return
    if (current - this.#newest >= this.#counts.length) {
      this.clear()
    } else {
      for (let b = this.#newest + 1; b <= current; b++) {
        const i = this.#slot(b)
        this.#total -= this.#counts[i]!
        this.#counts[i] = 0
      }
    }
    this.#newest = current
  }

  #slot (bucket: number): number {
    const n = this.#counts.length
    return ((bucket % n) + n) % n
  }
}
