// A binary heap ordered by `before` (the top is the item no other comes before). O(log n) push, pop and
// re-sift of the top; the balancers keep their per-list structures in it.
export class Heap<T> {
  readonly #items: T[]
  readonly #before: (a: T, b: T) => boolean

  constructor (before: (a: T, b: T) => boolean, items: T[] = []) {
    this.#before = before
    this.#items = items
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i)
  }

  get size (): number { return this.#items.length }
  peek (): T | undefined { return this.#items[0] }
  /** Every item, in heap order (not sorted). */
  get items (): readonly T[] { return this.#items }

  push (item: T): void {
    this.#items.push(item)
    this.#up(this.#items.length - 1)
  }

  pop (): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      this.#down(0)
    }
    return top
  }

  /** The top's priority changed: restore the order from the root. */
  topChanged (): void { this.#down(0) }

  #up (i: number): void {
    const items = this.#items
    const item = items[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(item, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  #down (i: number): void {
    const items = this.#items
    const n = items.length
    const item = items[i]!
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && this.#before(items[child + 1]!, items[child]!)) child++
      if (!this.#before(items[child]!, item)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = item
  }
}
