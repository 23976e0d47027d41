// A first-in first-out queue whose entries can also be taken out from anywhere, each step O(1) (amortised): the
// requests waiting for one of a target's connections, some of which end (a deadline, the client gone) before one
// comes free. An entry taken out leaves a hole; holes at the front are dropped at once, and the array is rebuilt
// when what it holds dead (consumed front and holes) outweighs the live entries, so it stays within about twice
// the entries waiting, however long some of them wait while others come and go.

interface Entry<K, V> {
  readonly key: K
  readonly value: V
  live: boolean
}

/** Rebuilding a short array saves nothing: below this many dead entries it is left alone. */
const MIN_DEAD_TO_REBUILD = 32

export class WaitQueue<K, V> {
  #entries: (Entry<K, V> | undefined)[] = []
  #head = 0
  #holes = 0
  readonly #byKey = new Map<K, Entry<K, V>>()

  /** Entries waiting. */
  get size (): number { return this.#byKey.size }

  /** Array slots held, live or dead (bounded by about twice size, plus MIN_DEAD_TO_REBUILD). */
  get footprint (): number { return this.#entries.length }

  /** Adds `value` at the back under `key` (one entry per key). */
  push (key: K, value: V): void {
    const entry: Entry<K, V> = { key, value, live: true }
    this.#entries.push(entry)
    this.#byKey.set(key, entry)
  }

  /** Takes the first live entry out; undefined when none waits. */
  shift (): V | undefined {
    const entries = this.#entries
    if (this.#head === entries.length) return undefined
    // the front entry is live: #tidy drops dead ones from the front after every change
    const entry = entries[this.#head]!
    entries[this.#head++] = undefined
    this.#byKey.delete(entry.key)
    this.#tidy()
    return entry.value
  }

  /** The first live entry, left in place; undefined when none waits. */
  peek (): V | undefined {
    return this.#head === this.#entries.length ? undefined : this.#entries[this.#head]!.value
  }

  /** Whether `key` waits here. */
  has (key: K): boolean { return this.#byKey.has(key) }

  /** Takes `key`'s entry out wherever it waits; false when it is not waiting here. */
  remove (key: K): boolean {
    const entry = this.#byKey.get(key)
    if (entry === undefined) return false
    this.#byKey.delete(key)
    entry.live = false
    this.#holes++
    this.#tidy()
    return true
  }

  #tidy (): void {
    const entries = this.#entries
    while (this.#head < entries.length && !entries[this.#head]!.live) {
      entries[this.#head++] = undefined
      this.#holes--
    }
    if (this.#head === entries.length) {
      this.#entries = []
      this.#head = 0
      return
    }
    const dead = this.#head + this.#holes
    if (dead >= MIN_DEAD_TO_REBUILD && dead > entries.length - dead) {
      this.#entries = entries.slice(this.#head).filter((e) => e!.live)
      this.#head = 0
      this.#holes = 0
    }
  }
}
