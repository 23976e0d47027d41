// Heartbeat health checks: each target is probed at its own jittered times (after the first, on the grid of slots
// every checker shares: slot-timers.ts); unhealthyThreshold consecutive failures take it out, healthyThreshold
// consecutive successes put it back.
//
// Lag (a replica pool read with maxLagMs): a target takes reads only while the last lag it reported, as a valid
// number, is within the limit. A target whose lag is not known yet (just started, added by a reload or a DNS answer)
// is lagging; a passing probe that reports no valid lag (no header, 'unknown', a JSON null, a body cut short) changes
// nothing: the last known lag still decides, so a lagging replica stays out until it reports it caught up. A target
// the checks mark unhealthy forgets its lag: it missed the writes made while it was out, so it is back lagging (lag
// unknown) until a probe reports its lag again.
//
// Ejection: the checks end an outlier ejection they saw the outage of: when they mark the target healthy again within
// it (they had marked it down). Envoy lifts one at any passing check, and a target failing only on traffic (its
// /health passing), or one whose probes fail now and then below unhealthyThreshold, would be back at every check.
// They also vouch for a backup once one of its probes has passed (verified()).
import { EventEmitter } from 'node:events'
import type { HealthCheckConfig } from '../config/schema.ts'
import { classifyError, errorCodeOf, isLocalResourceError } from '../resilience/classify.ts'
import { monotonicMs, setVerdictTimeout, systemClock, type Clock, type RandomSource } from '../runtime.ts'
import type { UpstreamPool } from '../upstream/pool.ts'
import type { Target } from '../upstream/target.ts'
import { statusMatcher } from './expect-status.ts'
import { ProbeExchange } from './probe.ts'
import { slotTimersFor, type SlotTimers } from './slot-timers.ts'

/** How much later than timeoutMs undici's own header and body timers end a probe that nothing else has. */
const UNDICI_BACKSTOP_MS = 1000

export const HEALTH_USER_AGENT = 'switchyard-health-check/0.1'

/** What one probe found; kept per target for /status. */
export interface ProbeResult {
  readonly ok: boolean
  /** Epoch ms when the probe ended. */
  readonly at: number
  readonly status?: number
  /** The error code of a probe that got no answer (e.g. ECONNREFUSED, timeout). */
  readonly error?: string
  /** Replication lag the target reported (x-replication-lag-ms header, or replicationLagMs in a JSON body). */
  readonly lagMs?: number
  /** The answer passed on its status, but its JSON lag body did not arrive whole: the lag is unknown. */
  readonly lagUnknown?: true
  /** The probe could not be sent for want of the gateway's own resources (no file descriptor or local port): no verdict. */
  readonly local?: true
  /**
   * The target answered, with what undici refuses to read (an unexpected 100 Continue: its 'bad response', reported
   * as a socket error): a failed probe, never a kept-alive connection found closed.
   */
  readonly badAnswer?: true
}

// end a probe that outlived timeoutMs (reported as 'timeout'), or whose target or checker went away
const PROBE_TIMED_OUT = new Error('health probe timed out')
/** How a kept-alive probe connection the upstream closed while idle fails the next probe (undici's, the kernel's). */
const STALE_PROBE_CODES = ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']
/**
 * How soon such a failure comes to be taken for that race (at most half the timeout): the next packet's round trip,
 * and the event loop's lag on a busy host (at 100 ms a loaded clean-clone run took such a reset for the target's
 * answer: a false "unhealthy" at unhealthyThreshold 1). A target's own quick reset costs one more try, no more.
 */
const STALE_PROBE_WINDOW_MS = 200
const CHECKS_STOPPED = new Error('health checks stopped')

interface ProbeState {
  successes: number
  failures: number
  /** Cancels the next probe's timer. */
  cancel: (() => void) | undefined
  exchange: ProbeExchange | undefined
  last: ProbeResult | undefined
  /** The last valid lag a passing probe reported (a new maxLagMs judges it); undefined: not known yet, or forgotten
   * when the checks marked the target unhealthy. */
  lagMs: number | undefined
  /** Whether the last passing probe reported a valid lag; undefined until a probe has passed. */
  lagReported: boolean | undefined
  /** Joined unchecked (a new DNS address): its first probe passing puts it in, not healthyThreshold of them. */
  joinedUnchecked: boolean
  /** The replaced pool's checks had probed it (carriedProbed): its health is known before this checker's first probe. */
  known: boolean
  /** One of this checker's probes has passed. */
  passed: boolean
}

export interface HealthCheckOptions {
  random?: RandomSource
  clock?: Clock
  /**
   * The lag each target (by URL) last reported to the checker of the pool this one replaces (lagReports()): a
   * rebuilt pool judges it at once instead of holding every replica out until its first probe.
   */
  carriedLag?: ReadonlyMap<string, number>
  /**
   * The targets (by URL) the checker of the pool this one replaces had probed (probedUrls()): their health is known and
   * carried, so their first probe here comes at a jittered time in the interval, as any later one does, and the first
   * round does not wait for them. A reload that rebuilds every pool (a health-check setting changed for all) probed
   * every target of every pool within one turn of the event loop: 1,000 targets blocked it 170-530 ms.
   */
  carriedProbed?: ReadonlySet<string>
  /**
   * The targets (by URL) the replaced pool's checks had verified (verifiedUrls()): a backup one of them passed still
   * vouches for failing primaries (src/health/outlier.ts), not only after its first probe here, up to an interval later.
   */
  carriedVerified?: ReadonlySet<string>
}

export interface HealthCheckEvents {
  /**
   * Passing probes of a target in a lag-limited pool stopped (false) or started again (true) reporting a valid lag;
   * once per change (the first passing probe reports only a missing lag).
   */
  lagReport: [target: Target, reported: boolean]
}

const FIRST_PROBE_SPREAD_MS = 20
const FIRST_PROBE_SPREAD_PER_TARGET_MS = 0.1

export class ActiveHealthChecker extends EventEmitter<HealthCheckEvents> {
  readonly #pool: UpstreamPool
  readonly #config: HealthCheckConfig
  readonly #random: RandomSource
  readonly #clock: Clock
  readonly #slots: SlotTimers
  readonly #states = new Map<Target, ProbeState>()
  readonly #accepts: (status: number) => boolean
  #running = false
  /** Targets reporting more lag than this are 'lagging' (set by the routes that read from this pool). */
  #maxLagMs: number | undefined
  /** Targets about to join unchecked (see joinsUnchecked), until the checker watches them. */
  readonly #joining = new WeakSet<Target>()
  /** Targets of the first round not probed yet (readiness waits for them). */
  readonly #awaiting = new Set<Target>()
  #firstRound: Promise<void> = Promise.resolve()
  #firstRoundDone: () => void = () => {}
  #carriedLag: ReadonlyMap<string, number> | undefined
  #carriedProbed: ReadonlySet<string> | undefined
  #carriedVerified: ReadonlySet<string> | undefined

  constructor (pool: UpstreamPool, config: HealthCheckConfig, options: HealthCheckOptions = {}) {
    super()
    this.#pool = pool
    this.#carriedLag = options.carriedLag
    this.#carriedProbed = options.carriedProbed
    this.#carriedVerified = options.carriedVerified
    this.#config = config
    this.#random = options.random ?? Math.random
    this.#clock = options.clock ?? systemClock
    this.#slots = slotTimersFor(this.#clock)
    this.#accepts = statusMatcher(config.expectStatus)
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    const known = this.#carriedProbed
    for (const target of this.#pool.targets) if (known?.has(target.url) !== true) this.#awaiting.add(target)
    this.#firstRound = new Promise((resolve) => { this.#firstRoundDone = resolve })
    if (this.#awaiting.size === 0) this.#firstRoundDone()
    for (const target of this.#pool.targets) this.#watch(target, known?.has(target.url) === true)
    // the carried lag and probes are what the replaced pool's checks knew when this pool was built: a target added
    // later (a reload, a DNS answer) with the same URL may have been down and missed writes since: not known
    this.#carriedLag = undefined
    this.#carriedProbed = undefined
    this.#carriedVerified = undefined
    this.#pool.on('targets', this.#onTargets)
  }

  readonly #onTargets = (added: readonly Target[], removed: readonly Target[]): void => {
    for (const target of removed) this.#unwatch(target)
    for (const target of added) this.#watch(target)
  }

  /** `known`: the replaced pool's checks had probed it (carriedProbed), so its first probe need not come at once. */
  #watch (target: Target, known = false): void {
    const state: ProbeState = { successes: 0, failures: 0, cancel: undefined, exchange: undefined, last: undefined, lagMs: this.#carriedLag?.get(target.url), lagReported: undefined, joinedUnchecked: this.#joining.delete(target), known, passed: this.#carriedVerified?.has(target.url) === true }
    this.#states.set(target, state)
    // before any request can pick it: a replica whose lag is not known yet takes no reads of a lag-limited pool
    this.#judgeLag(target, state)
    // First probe at once, as Envoy's initial_jitter of 0 does: readiness waits for the first round. It is spread
    // over 0.1 ms per target of the pool, up to FIRST_PROBE_SPREAD_MS, so a thousand targets are not probed in one
    // tick while a pool of 200 is ready after 20 ms of spread, not 100 (the cost that is left is the probes'
    // own); later probes are jittered over the whole interval, on the shared grid of slots, and so is the first of a
    // target whose health the replaced pool's checks knew.
    if (known) {
      state.cancel = this.#slots.after(this.#random() * this.#config.intervalMs, () => this.#probeThenSchedule(target, state))
      return
    }
    const spread = Math.min(this.#config.intervalMs, FIRST_PROBE_SPREAD_MS, this.#pool.targets.length * FIRST_PROBE_SPREAD_PER_TARGET_MS)
    const timer = this.#clock.setTimeout(() => this.#probeThenSchedule(target, state), this.#random() * spread)
    timer.unref()
    state.cancel = () => this.#clock.clearTimeout(timer)
  }

  #unwatch (target: Target): void {
    const state = this.#states.get(target)
    if (state === undefined) return
    state.cancel?.()
    state.exchange?.abort(CHECKS_STOPPED, true)
    this.#states.delete(target)
    this.#probed(target)
  }

  stop (): void {
    this.#running = false
    this.#pool.off('targets', this.#onTargets)
    for (const state of this.#states.values()) {
      state.cancel?.()
      state.exchange?.abort(CHECKS_STOPPED, true)
    }
    this.#states.clear()
    this.#firstRoundDone()
  }

  /**
   * The lag above which a replica takes no reads; undefined: lag is not judged. A new limit (a reload) judges the
   * lag each target last reported at once: waiting for the next probe would let a replica that already reported
   * more lag than it take reads for up to intervalMs (and keep one that is within it out as long).
   */
  setMaxLagMs (maxLagMs: number | undefined): void {
    if (maxLagMs === this.#maxLagMs) return
    this.#maxLagMs = maxLagMs
    for (const [target, state] of this.#states) this.#judgeLag(target, state)
  }

  /** Sets the target lagging or not by the last lag it reported: an unknown lag is lagging while lag is judged. */
  #judgeLag (target: Target, state: ProbeState): void {
    const max = this.#maxLagMs
    const lagging = max !== undefined && (state.lagMs === undefined || state.lagMs > max)
    // told apart for the event feed: a replica not heard from yet is no news; one reported behind is
    const lagUnknown = lagging && state.lagMs === undefined ? true : undefined
    const status = this.#pool.status(target)
    if (lagging !== status.lagging || lagUnknown !== status.lagUnknown) this.#pool.setStatus(target, { lagging, lagUnknown })
  }

  /**
   * The targets (by URL) whose health is known, for the checker of a pool that replaces this one (carriedProbed):
   * probed at least once, here or (carried) by the checker this one replaced; before start(), what it was given (a
   * pool rebuilt again before its first probes, or while its first DNS lookups run).
   */
  probedUrls (): Set<string> {
    const probed = new Set(this.#carriedProbed ?? [])
    for (const [target, state] of this.#states) if (state.last !== undefined || state.known) probed.add(target.url)
    return probed
  }

  /** The lag each target last reported (by URL), for the checker of a pool that replaces this one (carriedLag). */
  lagReports (): Map<string, number> {
    const reports = new Map<string, number>()
    for (const [target, state] of this.#states) if (state.lagMs !== undefined && !reports.has(target.url)) reports.set(target.url, state.lagMs)
    return reports
  }

  /**
   * `target` joins the pool next, out until a probe passes (a new DNS address): one passing probe puts it in. Any
   * other target out of health (one a reload carried over unhealthy) needs healthyThreshold passes, as it would have.
   */
  joinsUnchecked (target: Target): void {
    this.#joining.add(target)
  }

  /** Resolves once every target has been probed once since start() (readiness waits for it). */
  firstRound (): Promise<void> { return this.#firstRound }

  /** The targets (by URL) a probe has passed since they joined the pool, carried by the replaced pool's checks too. */
  verifiedUrls (): Set<string> {
    const verified = new Set<string>()
    for (const [target, state] of this.#states) if (state.passed) verified.add(target.url)
    return verified
  }

  /** Whether a probe of the target has passed since it joined the pool (here, or in the checks of the pool replaced). */
  verified (target: Target): boolean {
    return this.#states.get(target)?.passed === true
  }

  /** The last probe's result for a target, if it has been probed. */
  lastResult (target: Target): ProbeResult | undefined {
    return this.#states.get(target)?.last
  }

  /** Applies one probe's result: thresholds decide whether the target's health changes. */
  record (target: Target, result: ProbeResult): void {
    const state = this.#states.get(target)
    if (state === undefined) return
    // the gateway out of file descriptors failed it, not the target: taken as no probe at all (its streaks and its
    // last result stand), or a gateway at its fd limit would take every target of every pool out
    if (result.local === true) return this.#probed(target)
    const first = state.last === undefined
    // kept before any status change below: the event feed names the failing probe of 'target unhealthy' from it
    state.last = result
    // a failed probe says nothing of lag (unless it marks the target unhealthy: below), nor does a passing one
    // without a valid lag (none, 'unknown', a JSON null, a body cut short): the last known lag still decides, so a
    // lagging target stays lagging until a probe reports it caught up
    if (result.ok) this.#lagReported(target, state, result.lagMs)
    const { healthy, ejectedUntil } = this.#pool.status(target)
    const ejected = ejectedUntil > monotonicMs(this.#clock)
    if (result.ok) {
      state.failures = 0
      state.successes++
      state.passed = true
      // a target that joined unchecked (a new DNS address) is in as soon as its first probe passes
      const healthyNow = !healthy && ((first && state.joinedUnchecked) || state.successes >= this.#config.healthyThreshold)
      // marked down and back up within the ejection: the checks saw its outage and its end (one change: the feed says
      // it once)
      if (healthyNow) this.#pool.setStatus(target, ejected ? { healthy: true, ejectedUntil: 0 } : { healthy: true })
    } else {
      state.successes = 0
      state.failures++
      if (healthy && state.failures >= this.#config.unhealthyThreshold) {
        // a replica that was out missed the writes made meanwhile: the lag it reported before says nothing of them,
        // so it comes back lagging (lag unknown) until a probe reports its lag again, and a reload does not carry it
        // (lagReports). Judged at its first passing probe, before the one that puts it back in.
        state.lagMs = undefined
        this.#pool.setStatus(target, { healthy: false })
      }
    }
    this.#probed(target)
  }

  #lagReported (target: Target, state: ProbeState, lagMs: number | undefined): void {
    const reported = lagMs !== undefined
    if (reported) state.lagMs = lagMs
    // said once per change, and only where lag is judged (elsewhere a health check need not report it)
    if (this.#maxLagMs !== undefined && reported !== (state.lagReported ?? true)) this.emit('lagReport', target, reported)
    state.lagReported = reported
    this.#judgeLag(target, state)
  }

  #probed (target: Target): void {
    if (this.#awaiting.delete(target) && this.#awaiting.size === 0) this.#firstRoundDone()
  }

  #probeThenSchedule (target: Target, state: ProbeState): void {
    state.cancel = undefined
    void this.#probe(target, state).then((result) => {
      if (!this.#running || this.#states.get(target) !== state) return
      this.record(target, result)
      const { intervalMs, jitter } = this.#config
      state.cancel = this.#slots.after(intervalMs * (1 - jitter / 2 + this.#random() * jitter), () => this.#probeThenSchedule(target, state))
    })
  }

  async #probe (target: Target, state: ProbeState): Promise<ProbeResult> {
    // the probe connection is kept alive between probes: an upstream closing it while idle races the next probe (a
    // reset before any answer byte). That is no verdict: the probe goes again at once on a new connection, as
    // requests do (AttemptResult.stale) and as HAProxy, opening one per check, never meets it.
    // Only a reset that comes at once is that race (the upstream had closed the connection before the probe went
    // out); one after the target held the probe a while is its answer. Both tries share the one timeout.
    const reused = target.probeClient.stats.connected
    const startedAt = monotonicMs(this.#clock)
    const timeoutMs = this.#config.timeoutMs
    const first = await this.#probeOnce(target, state, timeoutMs)
    if (!reused || first.ok || first.badAnswer === true || first.error === undefined || !STALE_PROBE_CODES.includes(first.error)) return first
    const elapsed = monotonicMs(this.#clock) - startedAt
    if (elapsed > Math.min(STALE_PROBE_WINDOW_MS, timeoutMs / 2)) return first
    if (!this.#running || this.#states.get(target) !== state) return first // stopped, or the target left meanwhile
    return await this.#probeOnce(target, state, timeoutMs - elapsed)
  }

  async #probeOnce (target: Target, state: ProbeState, timeoutMs: number): Promise<ProbeResult> {
    const exchange = new ProbeExchange()
    state.exchange = exchange
    // a stall of the gateway's own never marks a healthy target down (see setVerdictTimeout)
    const timer = setVerdictTimeout(this.#clock, () => exchange.abort(PROBE_TIMED_OUT), timeoutMs)
    try {
      target.probeClient.dispatch({
        method: 'GET',
        path: this.#config.path,
        headers: { 'user-agent': HEALTH_USER_AGENT, host: target.host },
        // undici's own timers only as a backstop: the one above decides
        headersTimeout: timeoutMs + UNDICI_BACKSTOP_MS,
        bodyTimeout: timeoutMs + UNDICI_BACKSTOP_MS,
      }, exchange)
      const { status, lagMs, lagUnknown } = await exchange.answer
      return { ok: this.#accepts(status), status, at: this.#clock.now(), ...(lagMs !== undefined ? { lagMs } : {}), ...(lagUnknown ? { lagUnknown } : {}) }
    } catch (err) {
      // named as the access log names a request's (HTTPParserError for a malformed answer: it has no code)
      const code = exchange.aborted ? 'timeout' : errorCodeOf(err) ?? 'error'
      // the gateway's own shortage, or a probe it could not send as configured: no verdict on the target
      const local = !exchange.aborted && (isLocalResourceError(err) || code === 'UND_ERR_INVALID_ARG')
      const badAnswer = !exchange.aborted && classifyError(err) === 'bad-response'
      return { ok: false, error: code, at: this.#clock.now(), ...(local ? { local: true as const } : {}), ...(badAnswer ? { badAnswer: true as const } : {}) }
    } finally {
      this.#clock.clearTimeout(timer)
      state.exchange = undefined
    }
  }
}
