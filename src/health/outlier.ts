// Passive health: consecutive upstream failures eject a target for baseEjectionMs × (times ejected), never
// leaving more than maxEjectionPercent of its tier out of service, so a pool-wide outage is left to the breaker.
// An ejection may end early (health checks that marked the target down mark it healthy again, an operator's enable):
// the pool says so.
import { EventEmitter } from 'node:events'
import type { OutlierConfig } from '../config/schema.ts'
import type { FailureKind } from '../resilience/classify.ts'
import { monotonicMs, systemClock, type Clock } from '../runtime.ts'
import type { UpstreamPool } from '../upstream/pool.ts'
import { isAvailable } from '../upstream/status.ts'
import type { Target } from '../upstream/target.ts'

/** Why a target was ejected, or would have been (Envoy's outlier event: its type and count). */
export interface EjectionCause {
  /** The consecutive failures that tripped it. */
  readonly failures: number
  /**
   * The last one, in the attempt's words (src/resilience/classify.ts): 'status 503', 'reset', 'timeout',
   * 'connect-failure'…; undefined when the caller did not say.
   */
  readonly outcome: string | undefined
}

/** An ejection made here: its cause, and how long it lasts. */
export interface Ejection extends EjectionCause {
  /** baseEjectionMs × timesEjected, capped. */
  readonly ejectedForMs: number
  /** Its rank since the multiplier last started over (1: the first). */
  readonly timesEjected: number
  /** Its end, as the pool's status holds it (ejectedUntil, monotonic ms). */
  readonly until: number
}

export interface OutlierEvents {
  /**
   * An ejection maxEjectionPercent refused: said for the first refusal of a run only (the run ends when the target is
   * ejected after all, leaves the pool, or answers consecutiveFailures times in a row without a failure).
   */
  refused: [target: Target, cause: EjectionCause]
}

/** What active health checks know of a target: whether one of their probes has passed since it joined the pool. */
export interface CheckedTargets {
  verified (target: Target): boolean
}

export interface OutlierOptions {
  /** Every ejection refused by maxEjectionPercent (a metric: Envoy's ejections_overflow). */
  onSkipped?: () => void
  /** The pool's active health checks, if it has them: a backup they verified may take every failing primary. */
  checks?: CheckedTargets
}

export class OutlierDetector extends EventEmitter<OutlierEvents> {
  readonly #config: OutlierConfig
  readonly #pool: UpstreamPool
  readonly #clock: Clock
  readonly #onSkipped: () => void
  readonly #checks: CheckedTargets | undefined
  readonly #failures = new Map<Target, number>()
  readonly #timesEjected = new Map<Target, number>()
  readonly #lastEjectionEnd = new Map<Target, number>()
  /** The cause of each target's latest ejection, read by the event feed when the pool announces it. */
  readonly #ejections = new Map<Target, Ejection>()
  /** Targets in a run of refused ejections: their successes in a row since the last refusal. */
  readonly #refusing = new Map<Target, number>()
  #skipped = 0

  constructor (config: OutlierConfig, pool: UpstreamPool, clock: Clock = systemClock, options: OutlierOptions = {}) {
    super()
    this.#config = config
    this.#pool = pool
    this.#clock = clock
    this.#onSkipped = options.onSkipped ?? (() => {})
    this.#checks = options.checks
    // a target that leaves the pool (reload, DNS) is forgotten: kept here, each one that ever failed would stay
    // in memory, with its closed connection pools, for as long as the pool runs
    pool.on('targets', (_added, removed) => {
      for (const t of removed) {
        this.#failures.delete(t)
        this.#timesEjected.delete(t)
        this.#lastEjectionEnd.delete(t)
        this.#ejections.delete(t)
        this.#refusing.delete(t)
      }
    })
    // an ejection lifted before its end (see the top of this file) ended then: the multiplier's decay counts from then
    pool.on('status', (target, status, previous) => {
      if (status.ejectedUntil !== 0 || previous.ejectedUntil === 0) return
      if (this.#lastEjectionEnd.get(target) !== previous.ejectedUntil) return
      this.#lastEjectionEnd.set(target, Math.min(previous.ejectedUntil, monotonicMs(this.#clock)))
    })
  }

  /** Ejections refused because the tier was already at maxEjectionPercent. */
  get skipped (): number { return this.#skipped }

  success (target: Target): void {
    if (this.#failures.has(target)) this.#failures.delete(target)
    // one lucky answer does not end a run of refusals (it would be said again at the next streak): as many successes
    // in a row as it takes failures to eject do
    const successes = this.#refusing.size === 0 ? undefined : this.#refusing.get(target)
    if (successes === undefined) return
    if (successes + 1 >= this.#config.consecutiveFailures) this.#refusing.delete(target)
    else this.#refusing.set(target, successes + 1)
  }

  /**
   * The cause and length of the target's ejection that ends at `until` (the pool's ejectedUntil), or undefined if
   * this detector did not make it.
   */
  ejection (target: Target, until: number): Ejection | undefined {
    const ejection = this.#ejections.get(target)
    return ejection?.until === until ? ejection : undefined
  }

  /**
   * One upstream failure of the target's: `kind` as the attempt classified it, `status` the failure status answered
   * (kind 'status'). Both only describe the ejection; an unnamed failure counts the same.
   */
  failure (target: Target, kind?: FailureKind | 'status', status?: number): void {
    if (!this.#config.enabled) return
    // a request that was in flight when its target left the pool ends after the 'targets' event above: counted, the
    // target would stay in #failures for good (or be ejected in a pool that no longer has it)
    if (!this.#pool.has(target)) return
    // ejections are deadlines: a wall-clock step must neither end one early nor stretch it by the step
    const now = monotonicMs(this.#clock)
    // an ejected target's late failures (requests already in flight) say nothing new
    if (this.#pool.status(target).ejectedUntil > now) return
    const count = (this.#failures.get(target) ?? 0) + 1
    if (count < this.#config.consecutiveFailures) {
      this.#failures.set(target, count)
      return
    }
    this.#failures.delete(target)
    const outcome = kind === 'status' && status !== undefined ? `status ${status}` : kind
    if (!this.#mayEject(target, now)) {
      this.#skipped++
      this.#onSkipped()
      // said once per run: a target failing every request would otherwise be said every consecutiveFailures requests
      const newRun = !this.#refusing.has(target)
      this.#refusing.set(target, 0)
      if (newRun) this.emit('refused', target, { failures: count, outcome })
      return
    }
    this.#refusing.delete(target)
    // the ejection multiplier decays: a target that stayed in for maxEjectionMs since its last ejection starts over
    const lastEnd = this.#lastEjectionEnd.get(target)
    if (lastEnd !== undefined && now - lastEnd > this.#config.maxEjectionMs) this.#timesEjected.delete(target)
    const times = (this.#timesEjected.get(target) ?? 0) + 1
    this.#timesEjected.set(target, times)
    const duration = Math.min(this.#config.baseEjectionMs * times, Math.max(this.#config.maxEjectionMs, this.#config.baseEjectionMs))
    this.#lastEjectionEnd.set(target, now + duration)
    // kept before the pool announces the ejection, so its event can say why and for how long
    this.#ejections.set(target, { failures: count, outcome, ejectedForMs: duration, timesEjected: times, until: now + duration })
    this.#pool.setStatus(target, { ejectedUntil: now + duration })
  }

  timesEjected (target: Target): number {
    return this.#timesEjected.get(target) ?? 0
  }

  /**
   * The cap counts every target of the tier already out of service, not only the ejected ones: with one of two
   * primaries down by health checks (or drained, or disabled), ejecting the other would leave the tier empty, a
   * pool-wide outage, which is the breaker's to judge. (Envoy counts ejections alone, but past its panic threshold
   * it balances over every host again; there is no such mode here.) A primary its tier would keep may still go
   * while a backup is available:
   * - any primary, if a backup the pool's active health checks have seen pass is available: traffic fails over to a
   *   standby known to answer, not held on primaries that fail every request while their /health passes (the breaker
   *   opened on them, refusing everything, with that backup idle). A failing backup tier keeps its own cap;
   * - otherwise (no checks, or none passed yet), only while the whole pool, backups included, stays within the cap,
   *   as Envoy counts max_ejection_percent over a cluster's priorities: one failing primary before one backup fails
   *   over, where the tier alone (one target, 100%) kept it in and the standby never served. Two failing primaries
   *   before one unchecked backup do not both go: that backup has nothing behind it to say it works.
   */
  #mayEject (target: Target, now: number): boolean {
    const cap = this.#config.maxEjectionPercent
    let tierSize = 0
    let out = 0
    let poolOut = 0
    let backupAvailable = false
    let verifiedBackupAvailable = false
    let verifiedPrimaryAvailable = false
    for (const t of this.#pool.targets) {
      const available = isAvailable(this.#pool.status(t), now)
      if (t !== target && !available) poolOut++
      if (t.backup && available) {
        backupAvailable = true
        if (this.#checks?.verified(t) === true) verifiedBackupAvailable = true
      }
      if (!t.backup && available && this.#checks?.verified(t) === true) verifiedPrimaryAvailable = true
      if (t.backup !== target.backup) continue
      tierSize++
      if (t !== target && !available) out++
    }
    if (((out + 1) / tierSize) * 100 <= cap) return true
    // a cap of 0 ejects nothing
    if (cap === 0) return false
    // a backup its tier would keep (a pool held on its backups by a switchover or a failback 'manual' hold, the last
    // backup failing) may go while a primary its checks verified is available: traffic goes back to it
    if (target.backup) return verifiedPrimaryAvailable
    if (!backupAvailable) return false
    return verifiedBackupAvailable || ((poolOut + 1) / this.#pool.targets.length) * 100 <= cap
  }
}
