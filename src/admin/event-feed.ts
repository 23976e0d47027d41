// What happened to the gateway, newest last: breaker, target, tier, drain and reload events. Each is logged once
// when it happens (never per request) and kept in a small ring for /events and the dashboard's feed.
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { ProbeResult } from '../health/active.ts'
import type { EjectionCause } from '../health/outlier.ts'
import { monotonicMs, type Clock } from '../runtime.ts'
import type { Tier } from '../upstream/pool.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import { targetState, type TargetState, type TargetStatus } from '../upstream/status.ts'
import type { Target } from '../upstream/target.ts'
import type { FailedCheck, GatewayEvent } from './status-types.ts'

const LEVELS = { info: 30, warn: 40, error: 50 } as const
const NO_TARGET_UNTIL_LAG = 'no target available until a replica reports its lag'
const TARGET_UNHEALTHY = 'target unhealthy'
const TARGET_EJECTED = 'target ejected'
const TARGET_RETURNED = 'target returned from ejection'
type Level = keyof typeof LEVELS

export class EventFeed extends EventEmitter<{ event: [event: GatewayEvent] }> {
  readonly #events: GatewayEvent[] = []
  readonly #capacity: number
  readonly #logger: Logger
  readonly #clock: Clock

  constructor (logger: Logger, clock: Clock, capacity = 200) {
    super()
    this.#logger = logger
    this.#clock = clock
    this.#capacity = capacity
  }

  /** Newest last. */
  list (): readonly GatewayEvent[] { return this.#events }

  record (level: Level, event: Omit<GatewayEvent, 'at'>, logFields: Record<string, unknown> = {}): void {
    const full: GatewayEvent = { at: new Date(this.#clock.now()).toISOString(), ...event }
    this.#events.push(full)
    if (this.#events.length > this.#capacity) this.#events.shift()
    this.#logger[level]({ event: event.kind, pool: event.pool, target: event.target, route: event.route, problems: event.problems, ...logFields }, event.message)
    this.emit('event', full)
  }

  /**
   * A reload rebuilt a pool: the new runtime's breaker starts closed and its tier is computed afresh, with no event
   * of their own. Said here when they differ from the replaced runtime's, so the feed's last word on the pool is
   * not an open breaker or a failover that no longer holds.
   */
  poolReplaced (before: PoolRuntime, after: PoolRuntime): void {
    const pool = after.name
    if (after.breaker.state !== before.breaker.state) {
      this.record('info', { kind: 'breaker', pool, message: `circuit breaker ${after.breaker.state} (the reload rebuilt the pool)` }, { breaker: after.breaker.state, previous: before.breaker.state })
    }
    const tier = after.pool.tier
    const previous = before.pool.tier
    if (tier !== previous) {
      const waiting = tier === 'none' && this.#waitingForLag(after)
      const where = tier === 'primary' ? 'traffic on primary targets' : tier === 'backup' ? 'traffic on backup targets' : waiting ? NO_TARGET_UNTIL_LAG : 'no target available'
      this.record(tier === 'none' && !waiting ? 'error' : 'info', { kind: 'tier', pool, message: `${where} (the reload rebuilt the pool)` }, { tier, previous })
    }
  }

  /**
   * A replica pool with no target only because a replica has not been probed yet, so has not reported its lag (every
   * start, and every reload or DNS answer adding replicas): no news, as that replica's own event says, and over
   * within one health interval. An error here would page whoever alerts on error logs at every pod start. A replica
   * probed that reports no lag is not waiting: with it, the pool is out as much as with none.
   */
  #waitingForLag (runtime: PoolRuntime): boolean {
    const { pool, health } = runtime
    const now = monotonicMs(this.#clock)
    return pool.targets.some((t) => {
      const s = pool.status(t)
      return s.lagUnknown === true && s.healthy && !s.draining && !s.disabled && s.ejectedUntil <= now && health?.lastResult(t) === undefined
    })
  }

  /** Records one pool's state changes until the returned function is called (the pool is retired). */
  watchPool (runtime: PoolRuntime): () => void {
    const pool = runtime.name
    const { pool: upstream, breaker } = runtime
    const onStatus = (target: Target, status: TargetStatus, previous: TargetStatus): void => {
      const change = describeStatusChange(runtime, target, status, previous)
      if (change === undefined) return
      // Only the health checks mark a target unhealthy, and they keep the failing probe before they do: said here
      // because /status's lastCheck keeps only the latest probe, which the next one overwrites.
      const check = change.message === TARGET_UNHEALTHY ? failedCheck(runtime.health?.lastResult(target)) : undefined
      if (check === undefined) {
        this.record(change.level, { kind: change.kind, pool, target: target.id, message: change.message }, { url: target.url, ...change.fields })
        return
      }
      const message = `${change.message} (${'error' in check ? check.error : check.status})`
      this.record(change.level, { kind: change.kind, pool, target: target.id, message, check }, { url: target.url, check })
    }
    const onDrained = (target: { url: string; id: string }): void => {
      this.record('info', { kind: 'drain', pool, target: target.id, message: 'target drained' })
    }
    // an operator's switchover or failback is said once, as the action (operatorAction): not again as its tier change
    const onTier = (tier: Tier, previous: Tier, byOperator: boolean): void => {
      if (byOperator) return
      const waiting = tier === 'none' && this.#waitingForLag(runtime)
      // an operator's switchover still armed moves traffic back to a backup that recovers: the hold's doing, expected
      const held = tier === 'backup' && upstream.tierSetByOperator
      // on the backups without a failover: the primaries were drained, disabled, or left the DNS answer (a rolling
      // deploy), or a replica pool's have not reported their lag yet: nothing failed
      const moved = tier === 'backup' && !upstream.failedOver
      const level: Level = tier === 'primary' || waiting || held || moved ? 'info' : tier === 'backup' ? 'warn' : 'error'
      this.record(level, { kind: 'tier', pool, message: describeTierChange(tier, previous, upstream.tierSetByOperator, waiting, upstream.failedOver) }, { tier, previous, by: 'automatic' })
    }
    const onOperator = (to: 'backup' | 'primary', tier: Tier, previous: Tier): void => {
      this.record('info', { kind: 'switchover', pool, message: describeOperatorAction(to, tier, previous) }, { to, tier, previous, by: 'operator' })
    }
    const onBreaker = (state: string, previous: string): void => {
      // open refuses the pool's every request, as "no target available" does: an error. Half-open is a timer firing
      // and closed a recovery: info, as every other recovery is, so an alert on warn-or-worse does not fire again
      this.record(state === 'open' ? 'error' : 'info', { kind: 'breaker', pool, message: `circuit breaker ${state}` }, { breaker: state, previous })
    }
    // an ejection maxEjectionPercent refused (once per run of refusals): the target fails, and stays in
    const onRefused = (target: Target, cause: EjectionCause): void => {
      const percent = runtime.config.outlier.maxEjectionPercent
      this.record('warn', { kind: 'target', pool, target: target.id, message: `target not ejected, maxEjectionPercent ${percent}% reached (${describeCause(cause)})` }, { url: target.url, failures: cause.failures, outcome: cause.outcome, maxEjectionPercent: percent })
    }
    const onDiscovery = (name: string, error: { code: string; noAddress?: true } | undefined): void => {
      // an empty answer keeps nothing: the name's addresses are gone (or never were), so no "keeping" here
      if (error?.noAddress === true) this.record('warn', { kind: 'target', pool, message: `DNS name ${name} has no address (${error.code})` }, { dns: name, code: error.code })
      else if (error !== undefined) this.record('warn', { kind: 'target', pool, message: `DNS lookups of ${name} fail (${error.code}); keeping the ${upstream.targets.length} known targets` }, { dns: name, code: error.code })
      else this.record('info', { kind: 'target', pool, message: `DNS lookups of ${name} work again` }, { dns: name })
    }
    // a lag-limited replica whose health check stopped (or started again) reporting a valid lag: its last one decides
    const onLagReport = (target: { url: string; id: string }, reported: boolean): void => {
      this.record(reported ? 'info' : 'warn', { kind: 'target', pool, target: target.id, message: reported ? 'replica reports its lag again' : 'replica reports no valid lag: its last reported lag decides (lagging if none)' }, { url: target.url })
    }
    runtime.health?.on('lagReport', onLagReport)
    runtime.on('discovery', onDiscovery)
    upstream.on('status', onStatus)
    upstream.on('drained', onDrained)
    upstream.on('tier', onTier)
    upstream.on('operator', onOperator)
    breaker.on('state', onBreaker)
    runtime.outlier.on('refused', onRefused)
    return () => {
      upstream.off('status', onStatus)
      upstream.off('drained', onDrained)
      upstream.off('tier', onTier)
      upstream.off('operator', onOperator)
      breaker.off('state', onBreaker)
      runtime.outlier.off('refused', onRefused)
      runtime.off('discovery', onDiscovery)
      runtime.health?.off('lagReport', onLagReport)
    }
  }
}

/**
 * A tier change health made (or a hold on its own): said as automatic, so it is never read as an operator's doing.
 * An operator's switchover still armed is named, since it decides where traffic goes next.
 */
function describeTierChange (tier: Tier, previous: Tier, switchedOver: boolean, waiting: boolean, failedOver: boolean): string {
  if (tier === 'backup') {
    if (switchedOver) return "automatic move to backup targets (an operator's switchover holds traffic there)"
    return failedOver ? 'automatic failover to backup targets' : 'automatic move to backup targets (no primary available, none failed: drained, disabled, not reported or not in DNS)'
  }
  if (tier === 'primary') {
    if (switchedOver) return "automatic move to primary targets (no backup available; the operator's switchover stays armed)"
    return previous === 'backup' ? 'automatic failback to primary targets' : 'traffic on primary targets'
  }
  return waiting ? NO_TARGET_UNTIL_LAG : 'no target available'
}

/** An operator's switchover or failback, and whether it moved traffic (it was on that tier already, e.g. held there). */
function describeOperatorAction (to: 'backup' | 'primary', tier: Tier, previous: Tier): string {
  const action = to === 'backup' ? 'switchover to backup targets by an operator' : 'failback to primary targets by an operator'
  if (tier !== to) return `${action} (none available: traffic on ${tier === 'none' ? 'no target' : `${tier} targets`})`
  return tier === previous ? `${action} (traffic was on them already)` : action
}

/** The reason a failed probe gives: its error code when it got no answer, else the status it got. */
function failedCheck (result: ProbeResult | undefined): FailedCheck | undefined {
  if (result === undefined || result.ok) return undefined
  if (result.error !== undefined) return { error: result.error }
  return result.status !== undefined ? { status: result.status } : undefined
}

interface Described { level: Level; message: string; fields?: Record<string, unknown> }

/** A target's status change as the feed says it; `fields` go to its log line. */
interface StatusChange extends Described { kind: GatewayEvent['kind'] }

/**
 * An ejection this pool's outlier detector made says why and for how long (Envoy's outlier event: type and count);
 * one it did not make (a test's) is said bare.
 */
function describeEjection (runtime: PoolRuntime, target: Target, status: TargetStatus): Described {
  const ejection = runtime.outlier.ejection(target, status.ejectedUntil)
  if (ejection === undefined) return { level: 'warn', message: TARGET_EJECTED }
  const { failures, outcome, ejectedForMs, timesEjected } = ejection
  // the multiplier's effect: a repeated ejection lasts baseEjectionMs × times
  const times = timesEjected > 1 ? `; ejected ${timesEjected} times` : ''
  return {
    level: 'warn',
    message: `${TARGET_EJECTED} for ${describeMs(ejectedForMs)} (${describeCause(ejection)}${times})`,
    fields: { failures, ...(outcome !== undefined ? { outcome } : {}), ejectedForMs, timesEjected },
  }
}

/**
 * An ejection's end puts the target back only if nothing else keeps it out: one the health checks marked down meanwhile
 * is still out, said so at its own reason's level (read alone, a bare return suggested it served again).
 */
function describeReturn (runtime: PoolRuntime, target: Target, status: TargetStatus): Described {
  const state = targetState(status, target.inFlight, monotonicMs(runtime.clock))
  const still = STILL_OUT[state === 'lagging' && status.lagUnknown === true ? 'lag-unknown' : state]
  if (still === undefined) return { level: 'info', message: TARGET_RETURNED }
  return { level: still.level, message: `${TARGET_RETURNED}; ${still.words}`, fields: { state } }
}

/** What still keeps a target out when its ejection ends, at the level its own event has (describeStatusChange). */
const STILL_OUT: Partial<Record<TargetState | 'lag-unknown', { level: Level; words: string }>> = {
  unhealthy: { level: 'warn', words: 'still marked down by its health checks' },
  disabled: { level: 'warn', words: 'still disabled' },
  draining: { level: 'info', words: 'still draining' },
  drained: { level: 'info', words: 'still drained' },
  lagging: { level: 'warn', words: 'still lagging' },
  'lag-unknown': { level: 'info', words: 'its lag not reported yet' },
}

/** '5 consecutive failures, last status 503' (the last one's kind when the attempt named it). */
function describeCause ({ failures, outcome }: EjectionCause): string {
  return `${failures} consecutive failures${outcome !== undefined ? `, last ${outcome}` : ''}`
}

function describeMs (ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

function describeStatusChange (runtime: PoolRuntime, target: Target, status: TargetStatus, previous: TargetStatus): StatusChange | undefined {
  if (status.disabled !== previous.disabled) return { level: 'warn', kind: 'target', message: status.disabled ? 'target disabled' : 'target enabled' }
  if (status.draining !== previous.draining) return { level: 'info', kind: 'drain', message: status.draining ? 'drain started' : 'target enabled' }
  if (status.healthy !== previous.healthy) return { level: status.healthy ? 'info' : 'warn', kind: 'target', message: status.healthy ? 'target healthy' : TARGET_UNHEALTHY }
  if (status.lagging !== previous.lagging || status.lagUnknown !== previous.lagUnknown) return describeLagChange(status, previous)
  if ((status.ejectedUntil > 0) !== (previous.ejectedUntil > 0)) return { kind: 'target', ...(status.ejectedUntil > 0 ? describeEjection(runtime, target, status) : describeReturn(runtime, target, status)) }
  return undefined
}

/**
 * A replica whose lag is not known yet (just started or added) takes no reads, but is no news: said at info, and its
 * first report at info too unless it reports it is behind. A replica reported behind is a warning, as before.
 */
function describeLagChange (status: TargetStatus, previous: TargetStatus): StatusChange {
  if (!status.lagging) return { level: 'info', kind: 'target', message: previous.lagUnknown === true ? 'replica reported its lag: takes reads' : 'replica caught up' }
  if (status.lagUnknown === true) return { level: 'info', kind: 'target', message: 'replica lag not reported yet: no reads until it reports' }
  return { level: 'warn', kind: 'target', message: 'replica lagging: no reads until it catches up' }
}
