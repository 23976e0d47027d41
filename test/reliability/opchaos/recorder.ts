// What the gateway itself believed, moment by moment: for every pool runtime it ever ran (reloads replace them),
// each change of its tier, its available targets, its breaker and its retry attempts, timestamped. Taken on
// every gateway event (every status, tier and breaker change is one), around every action and every few ms.
import type { Gateway } from '../../../src/app.ts'
import type { PoolRuntime } from '../../../src/upstream/registry.ts'
import type { Target } from '../../../src/upstream/target.ts'

export interface PoolSnap {
  at: number
  /** The runtime is the gateway's current one for its name (false: retired by a reload, finishing requests). */
  current: boolean
  tier: string
  /** Upstream names of pool.available(): what a new request may be sent to. */
  available: string[]
  /** Backups available while traffic is on the primaries (a retry may use them). */
  standby: string[]
  circuit: string
  attempts: number
}

interface Tracked {
  name: string
  log: PoolSnap[]
  key: string
  /** The last few candidate lists of more than one target (weakly): what a balancer may still hold on to. */
  lists: Array<WeakRef<Target>[]>
}

export class Recorder {
  readonly runtimes = new Map<PoolRuntime, Tracked>()
  /** Every Target object the gateway ever ran (weakly: the leak check needs them to be collectable). */
  readonly targets: WeakRef<Target>[] = []
  readonly #seen = new WeakSet<Target>()
  readonly #gateway: Gateway
  readonly #nameOf: (id: string) => string
  #timer: NodeJS.Timeout | undefined
  readonly #onEvent = (): void => this.snap()

  constructor (gateway: Gateway, nameOf: (id: string) => string) {
    this.#gateway = gateway
    this.#nameOf = nameOf
  }

  start (): void {
    this.snap()
    this.#gateway.events.on('event', this.#onEvent)
    this.#timer = setInterval(() => this.snap(), 5)
  }

  stop (): void {
    this.#gateway.events.off('event', this.#onEvent)
    clearInterval(this.#timer)
  }

  snap (): void {
    const at = Date.now()
    const current = this.#gateway.pools()
    for (const [name, runtime] of current) {
      if (!this.runtimes.has(runtime)) this.runtimes.set(runtime, { name, log: [], key: '', lists: [] })
    }
    for (const [runtime, tracked] of this.runtimes) {
      const isCurrent = current.get(tracked.name) === runtime
      // a retired runtime is followed while it still has requests
      if (!isCurrent && tracked.log.at(-1)?.current === false && runtime.budget.active === 0) continue
      const pool = runtime.pool
      for (const t of pool.targets) {
        if (this.#seen.has(t)) continue
        this.#seen.add(t)
        this.targets.push(new WeakRef(t))
      }
      const list = pool.available()
      const backups = pool.tier === 'primary' ? pool.targets.filter((t) => t.backup && pool.state(t) === 'healthy') : []
      for (const candidates of [list, backups]) {
        const last = tracked.lists.at(-1)
        if (candidates.length < 2 || (last !== undefined && last.length === candidates.length && last.every((r, i) => r.deref() === candidates[i]))) continue
        tracked.lists.push(candidates.map((t) => new WeakRef(t)))
        if (tracked.lists.length > 3) tracked.lists.shift()
      }
      const available = list.map((t) => this.#nameOf(t.id))
      const tier = pool.tier
      const standby = backups.map((t) => this.#nameOf(t.id))
      const snap: PoolSnap = { at, current: isCurrent, tier, available, standby, circuit: runtime.breaker.state, attempts: runtime.config.retry.attempts }
      const key = JSON.stringify([isCurrent, tier, available, standby, snap.circuit, snap.attempts])
      if (key === tracked.key) continue
      tracked.key = key
      tracked.log.push(snap)
    }
  }

  /**
   * Every state, during [from, to], of the runtimes named `pool` a request sent at `from` may have used: the one
   * current at `from` and any that became current before `to` (a reload while it was being admitted).
   */
  during (pool: string, from: number, to: number): PoolSnap[] {
    const out: PoolSnap[] = []
    for (const tracked of this.runtimes.values()) {
      if (tracked.name !== pool) continue
      let before: PoolSnap | undefined
      const inside: PoolSnap[] = []
      for (const s of tracked.log) {
        // Date.now() has whole milliseconds: a change in the request's first millisecond may have come after it
        if (s.at < from) before = s
        else if (s.at <= to) inside.push(s)
      }
      const used = before?.current === true || inside.some((s) => s.current)
      if (!used) continue
      if (before !== undefined) out.push(before)
      out.push(...inside)
    }
    return out
  }

  /**
   * Targets a balancer may legitimately still hold: its precomputed state is kept per candidate list, for the
   * last list or two it was given (bounded: never more than that, whatever the number of reloads).
   */
  recentCandidates (runtime: PoolRuntime): Set<Target> {
    const out = new Set<Target>()
    for (const list of this.runtimes.get(runtime)?.lists ?? []) for (const ref of list) { const t = ref.deref(); if (t !== undefined) out.add(t) }
    return out
  }

  /** Lets go of the runtimes the gateway retired (for the leak check: only the gateway may hold them now). */
  forgetRetired (): void {
    const current = new Set(this.#gateway.pools().values())
    for (const runtime of this.runtimes.keys()) if (!current.has(runtime)) this.runtimes.delete(runtime)
  }

  /** In-flight attempts at `id` over every runtime, plus requests of retired runtimes still running (they may retry). */
  inFlightBound (id: string): number {
    let n = 0
    const current = this.#gateway.pools()
    for (const [runtime, tracked] of this.runtimes) {
      const pool = runtime.pool
      for (const t of [...pool.targets, ...pool.retiring]) if (t.id === id) n += t.inFlight
      if (current.get(tracked.name) !== runtime && pool.targets.some((t) => t.id === id)) n += runtime.budget.active
    }
    return n
  }
}
