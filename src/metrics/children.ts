// Series a binding owns, each bound on first use and then kept, so a repeated combination costs at most one
// Map lookup; once the binding is detached (its pool, route or target forgotten) nothing it does is exported.
import type { CounterFamily, CounterSeries } from './counter.ts'

export class CounterChildren<V extends string> {
  readonly #family: CounterFamily
  /** The values of every label before the last one, fixed for this binding. */
  readonly #fixed: readonly string[]
  /** Made at the first count: most bindings (a route's reads to primary, its mirrors) never count anything. */
  #children: Map<V, CounterSeries> | undefined
  #detached = false

  constructor (family: CounterFamily, fixed: readonly string[]) {
    this.#family = family
    this.#fixed = fixed
  }

  inc (value: V): void {
    const children = this.#children ??= new Map()
    let child = children.get(value)
    if (child === undefined) {
      child = bindOrOrphan(this.#family, [...this.#fixed, value], this.#detached)
      children.set(value, child)
    }
    child.inc()
  }

  /** Stops exporting every series this binding created; later counts go nowhere, so they cannot come back. */
  detach (): void {
    this.#detached = true
    for (const value of this.#children?.keys() ?? []) this.#family.remove([...this.#fixed, value])
  }
}

/** A detached binding still needs somewhere to count, but must not create exported series again. */
export function bindOrOrphan (family: CounterFamily, values: readonly string[], detached: boolean): CounterSeries {
  return detached ? family.orphan() : family.series(values)
}

/** One series with every label fixed, bound on first use (so a route that never rolls back exports nothing). */
export class LazySeries {
  readonly #family: CounterFamily
  readonly #values: readonly string[]
  #series: CounterSeries | undefined
  #detached = false

  constructor (family: CounterFamily, values: readonly string[]) {
    this.#family = family
    this.#values = values
  }

  inc (): void {
    (this.#series ??= bindOrOrphan(this.#family, this.#values, this.#detached)).inc()
  }

  detach (): void {
    this.#detached = true
    if (this.#series !== undefined) this.#family.remove(this.#values)
  }
}
