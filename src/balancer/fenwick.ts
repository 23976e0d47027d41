// Running sums over a growing list of non-negative shares (a Fenwick tree): a share changes and a point is found on
// the line of shares in O(log n), where a scan would be O(n). Least-connections draws a tie's class by its share.

export class ShareTree {
  /** 1-based Fenwick array: tree[i] sums the shares of (i - lowbit(i), i]. Its length - 1 is a power of two. */
  #tree = new Float64Array(5)
  /** Each share as it was set (the tree is rebuilt from them when it grows). */
  readonly #shares: number[] = []
  /** The sum of every share. */
  total = 0

  get size (): number { return this.#shares.length }

  /** Adds a share at the end; returns its index. */
  push (share: number): number {
    const index = this.#shares.length
    this.#shares.push(0)
    if (index + 1 >= this.#tree.length) this.#grow()
    this.add(index, share)
    return index
  }

  /** Changes the share at `index` by `delta`. */
  add (index: number, delta: number): void {
    this.#shares[index]! += delta
    this.total += delta
    const tree = this.#tree
    for (let i = index + 1; i < tree.length; i += i & -i) tree[i]! += delta
  }

  /**
   * The index whose span holds `r` (0 ≤ r < total), spans laid end to end in index order, each [start, end); where
   * in it r falls is left in `remainder`. Empty shares have no span. A point past the last span (rounding) gives an
   * index of size or more: the caller steps back.
   */
  find (r: number): number {
    const tree = this.#tree
    let pos = 0
    for (let step = tree.length - 1; step > 0; step >>= 1) {
      const next = pos + step
      if (next < tree.length && tree[next]! <= r) {
        pos = next
        r -= tree[next]!
      }
    }
    this.remainder = r
    return pos
  }

  /** Where in its span the last find()'s point fell (a field, so a find allocates nothing). */
  remainder = 0

  /** Twice the room, filled from the shares in O(n). */
  #grow (): void {
    const size = (this.#tree.length - 1) * 2
    const tree = new Float64Array(size + 1)
    const shares = this.#shares
    for (let i = 1; i <= size; i++) {
      if (i <= shares.length) tree[i]! += shares[i - 1]!
      const parent = i + (i & -i)
      if (parent <= size) tree[parent]! += tree[i]!
    }
    this.#tree = tree
  }
}
