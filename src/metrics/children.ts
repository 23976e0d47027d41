// One counter's children for the values of its last label, each bound (prom-client .labels()) on first use,
// so a repeated combination costs a Map lookup and never a label-object lookup.
import type { Counter } from 'prom-client'

export class CounterChildren<V extends string> {
  readonly #counter: Counter
  /** The values of every label before the last one, fixed for this binding. */
  readonly #fixed: readonly string[]
  readonly #children = new Map<V, Counter.Internal>()

  constructor (counter: Counter, fixed: readonly string[]) {
    this.#counter = counter
    this.#fixed = fixed
  }

  inc (value: V): void {
    let child = this.#children.get(value)
    if (child === undefined) {
      child = this.#counter.labels(...this.#fixed, value)
      this.#children.set(value, child)
    }
    child.inc()
  }

  /** Removes every series this binding created. */
  remove (): void {
    for (const value of this.#children.keys()) this.#counter.remove(...this.#fixed, value)
    this.#children.clear()
  }
}
