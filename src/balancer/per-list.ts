// What a balancer precomputed for a candidate list, keyed by the list's identity (its version: the pool builds
// a new array only when its available set changes). Two entries, so the live tier and the standby a retry may
// use do not evict each other.
export class PerList<L extends object, P> {
  #list0: L | undefined
  #prepared0: P | undefined
  #list1: L | undefined
  #prepared1: P | undefined

  get (list: L): P | undefined {
    if (list === this.#list0) return this.#prepared0
    if (list !== this.#list1) return undefined
    const prepared = this.#prepared1
    this.#list1 = this.#list0
    this.#prepared1 = this.#prepared0
    this.#list0 = list
    this.#prepared0 = prepared
    return prepared
  }

  set (list: L, prepared: P): P {
    this.#list1 = this.#list0
    this.#prepared1 = this.#prepared0
    this.#list0 = list
    this.#prepared0 = prepared
    return prepared
  }

  /** The structures kept (updates that concern a candidate go to every list it may be in). */
  get first (): P | undefined { return this.#prepared0 }
  get second (): P | undefined { return this.#prepared1 }
}
