// Two records over time, read by the traffic checks after a case:
// - what the gateway's discovered pool had available, from its own events (the targets, status and tier events
//   fire at the change itself): a request may only be answered by an address available at some moment of its life;
// - windows of steps: during a step (from the action until the gateway has caught up) the pool may be in the state
//   before, after, or between them; a window is "safe" when every one of those states has an address that is in the
//   answer, up, passing its checks and not taken out by an operator. A request may fail only in an unsafe window.
import type { PoolRuntime } from '../../../src/upstream/registry.ts'
import type { Target } from '../../../src/upstream/target.ts'

export interface Snapshot {
  at: number
  available: ReadonlySet<string>
}

export interface Window {
  from: number
  to: number
  safe: boolean
  /** Some state of the window has as many dead pods the pool may pick as a request has attempts. */
  risky: boolean
  /** Addresses the model lets the pool send new requests to in some state of the window. */
  servable: ReadonlySet<string>
  /** The step index (or -1 before the first) and what it was, for messages. */
  step: number
  what: string
}

export class Timeline {
  readonly snapshots: Snapshot[] = []
  readonly windows: Window[] = []
  readonly #hooked = new WeakSet<PoolRuntime>()
  /** Only the pool requests are routed to counts; a retired runtime's late events are not the gateway's state. */
  #current: PoolRuntime | undefined
  /** Every target the pools ever had (weakly), for the check that removed ones are garbage. */
  readonly targets: WeakRef<Target>[] = []
  readonly #seen = new WeakSet<Target>()
  /** The last few candidate lists of more than one target (weakly): what a balancer may still hold on to. */
  readonly lists: Array<WeakRef<Target>[]> = []
  #lastList: WeakRef<readonly Target[]> | undefined

  /** Follows this runtime's availability from now on (called at start and right after every reload). */
  follow (runtime: PoolRuntime): void {
    this.#current = runtime
    this.#snap(runtime)
    if (this.#hooked.has(runtime)) return
    this.#hooked.add(runtime)
    const snap = (): void => { if (this.#current === runtime) this.#snap(runtime) }
    runtime.pool.on('targets', snap)
    runtime.pool.on('status', snap)
    runtime.pool.on('tier', snap)
  }

  #snap (runtime: PoolRuntime): void {
    const available = runtime.pool.available()
    this.snapshots.push({ at: Date.now(), available: new Set(available.map((t) => new URL(t.url).hostname)) })
    for (const t of runtime.pool.targets) {
      if (this.#seen.has(t)) continue
      this.#seen.add(t)
      this.targets.push(new WeakRef(t))
    }
    // the pool keeps an unchanged set's array (balancers key on it): a new array is a new list
    if (available.length > 1 && this.#lastList?.deref() !== available) {
      this.#lastList = new WeakRef(available)
      this.lists.push(available.map((t) => new WeakRef(t)))
      if (this.lists.length > 3) this.lists.shift()
    }
  }

  /** Targets of the recent candidate lists (a balancer may keep what it precomputed for them: bounded). */
  recentCandidates (): Set<Target> {
    const out = new Set<Target>()
    for (const list of this.lists) for (const ref of list) { const t = ref.deref(); if (t !== undefined) out.add(t) }
    return out
  }

  /** Whether `address` was available at some moment in [from, to]. */
  wasAvailable (address: string, from: number, to: number): boolean {
    for (let i = 0; i < this.snapshots.length; i++) {
      const s = this.snapshots[i]!
      const until = this.snapshots[i + 1]?.at ?? Infinity
      if (s.at <= to && until >= from && s.available.has(address)) return true
    }
    return false
  }

  window (w: Window): void { this.windows.push(w) }

  /** The windows a request that lived over [from, to] overlapped. */
  overlapping (from: number, to: number): Window[] {
    return this.windows.filter((w) => w.from <= to && w.to >= from)
  }
}
