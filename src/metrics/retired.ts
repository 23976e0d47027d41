// The (route, pool) bindings a reload forgot, still exported until a scrape has seen their final counts: the
// requests a pair counted since the last scrape, and those still in flight on it, are not lost to every rate.
import type { RouteBinding } from './route.ts'

/**
 * At most this many retired bindings (idle ones past it are detached at once, oldest first). Retired bindings go
 * only at a render, and metrics are on by default, scraped or not: a route renamed at every reload would otherwise
 * grow them for good. 1,024 covers a reload that moves hundreds of routes between scrapes, and bounds them near
 * 3 MiB (~2.8 KiB each with its series, one status counted).
 */
export const MAX_RETIRED = 1024

/** Unambiguous for any two strings (the route's length first). */
const pairKey = (route: string, pool: string): string => `${route.length}:${route}${pool}`

export class RetiredBindings {
  readonly #max: number
  /** By pair, in the order they were retired: the oldest first. */
  readonly #bindings = new Map<string, RouteBinding>()
  /**
   * Taken back into use between an idle() and its settle() (a render under way): not settled by that list, though
   * retired again (and idle) since. Recorded only then, so it holds nothing between renders.
   */
  readonly #takenBack = new Set<RouteBinding>()
  #rendering = false

  constructor (max: number = MAX_RETIRED) { this.#max = max }

  get size (): number { return this.#bindings.size }

  /**
   * Kept until the render after it is idle (settle()). Past the cap, the oldest idle ones go now; a busy one never
   * does early (the cap is exceeded then, bounded by the requests in flight).
   */
  retire (binding: RouteBinding): void {
    this.#bindings.set(pairKey(binding.route, binding.pool), binding)
    if (this.#bindings.size <= this.#max) return
    for (const [key, retired] of this.#bindings) {
      if (retired.busy) continue
      retired.detach()
      this.#bindings.delete(key)
      if (this.#bindings.size <= this.#max) return
    }
  }

  /** The pair's retired binding, taken back into use (no longer retired), if any. */
  take (route: string, pool: string): RouteBinding | undefined {
    if (this.#bindings.size === 0) return undefined
    const key = pairKey(route, pool)
    const binding = this.#bindings.get(key)
    if (binding !== undefined) {
      this.#bindings.delete(key)
      if (this.#rendering) this.#takenBack.add(binding)
    }
    return binding
  }

  /**
   * The ones idle now, as a render begins: their counts are final, and the render exports them. (One that turns idle
   * while a render runs may count after its series were written: it waits for the next render.)
   */
  idle (): RouteBinding[] {
    this.#takenBack.clear()
    this.#rendering = true
    const idle: RouteBinding[] = []
    for (const binding of this.#bindings.values()) if (!binding.busy) idle.push(binding)
    return idle
  }

  /**
   * After a render: those idle as it began go, their final counts exported; not one taken back into use meanwhile
   * (it may have counted after its series were written, though retired and idle again).
   */
  settle (idle: readonly RouteBinding[]): void {
    for (const binding of idle) {
      const key = pairKey(binding.route, binding.pool)
      if (this.#bindings.get(key) !== binding || binding.busy || this.#takenBack.has(binding)) continue
      binding.detach()
      this.#bindings.delete(key)
    }
    this.#takenBack.clear()
    this.#rendering = false
  }
}
