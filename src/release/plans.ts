// Per-route release plans: a read/write split, a canary and a mirror, each deciding which pool a request of the
// route goes to (or is copied to). Built with the routing table on every config load; stateless across gateway
// replicas (signed cookies, key hashes), so any number of replicas decide the same.
import { parseHashKey, type HashKeySpec } from '../balancer/hash.ts'
import type { ResolvedConfig, RouteConfig } from '../config/schema.ts'
import type { MirrorOutcome, ReadToPrimaryReason } from '../metrics/catalogue.ts'
import type { Route } from '../routing/table.ts'
import type { Clock, RandomSource } from '../runtime.ts'
import { CanaryDecider, type CanaryConfig, type RollbackEvent, type WeightSource } from './canary.ts'
import { ReadAfterWrite } from './read-after-write.ts'

export interface ReadSplit {
  readonly pool: string
  readonly methods: ReadonlySet<string>
  readonly maxLagMs: number | undefined
  readonly sticky: ReadAfterWrite
}

export interface CanaryPlan {
  readonly pool: string
  readonly decider: CanaryDecider
  /** Where the sticky key comes from (undefined: every request is drawn at random). */
  readonly key: HashKeySpec | undefined
  /** Lower-case name of the force header, if any. */
  readonly forceHeader: string | undefined
  /** The route's canary settings as written (JSON): a reload that leaves them alone keeps this plan. */
  readonly settings: string
  /**
   * A reload replaced (or removed) this canary: requests that began on it, on any plan that shared it, no longer
   * judge a canary in force.
   */
  retired: boolean
}

export interface MirrorPlan {
  readonly pool: string
  readonly percent: number
  readonly maxConcurrent: number
}

/** A mirror copy in flight (src/proxy/mirror.ts), as closing the gateway sees it. */
export interface MirrorCopy {
  /** Ends the copy now; `targetFailed`: whether that counts against its target. */
  abort (reason: Error, targetFailed: boolean): void
}

const MIRRORS_CLOSED = new Error('gateway closing: mirror copies aborted')

/**
 * A gateway's mirror copies in flight, across reloads: closing aborts them rather than wait. Shadow traffic is
 * best-effort, and a copy held by a hanging mirror would otherwise keep its pool's connections, and so close(),
 * open until its deadline (the mirror pool's requestMs).
 */
export class MirrorCopies {
  readonly #inFlight = new Set<MirrorCopy>()
  #closed = false

  /** abortAll() was called: no copy starts any more. */
  get closed (): boolean { return this.#closed }

  add (copy: MirrorCopy): void { this.#inFlight.add(copy) }
  delete (copy: MirrorCopy): void { this.#inFlight.delete(copy) }

  /** Ends every copy in flight now (none counts against its target) and refuses new ones. */
  abortAll (reason: Error = MIRRORS_CLOSED): void {
    this.#closed = true
    for (const copy of this.#inFlight) copy.abort(reason, false)
  }
}

export interface PlanEvents {
  /** Reads of a split route started or stopped going to the primary because no replica is available. */
  fallback (route: Route, active: boolean): void
  readToPrimary (route: Route, reason: ReadToPrimaryReason): void
  rollback (route: Route, event: RollbackEvent): void
  weight (route: Route, weight: number, source: WeightSource): void
  mirror (route: Route, outcome: MirrorOutcome): void
}

/**
 * How many reads in a row must fall back before a split route's reads count as falling back (logged, in the event
 * feed and /status), and how many replica answers in a row end it: a replica failing one read in two or three is
 * not a change of state to report each time (one log line and feed event per read, pushing the rest out of the
 * feed). No replica available at admission at all turns it on at once (noReplicaAvailable).
 */
export const DEFAULT_FALLBACK_STREAK = 5

export interface PlanOptions {
  secret: string
  clock: Clock
  random: RandomSource
  events: PlanEvents
  /** Default DEFAULT_FALLBACK_STREAK. */
  fallbackStreak?: number
}

/** A split route's fallback state, carried across the plans a reload rebuilds while it keeps the same read pool. */
interface FallbackState {
  active: boolean
  /** Reads in a row that fell back, or replica answers in a row: whichever came last. */
  streak: number
}

export class RoutePlan {
  readonly route: Route
  readonly reads: ReadSplit | undefined
  readonly canary: CanaryPlan | undefined
  readonly mirror: MirrorPlan | undefined
  readonly #events: PlanEvents
  readonly #random: RandomSource
  /** The gateway's mirror copies in flight (one set for every plan, across reloads): closing aborts them. */
  readonly mirrorCopies: MirrorCopies
  readonly #fallback: FallbackState
  readonly #fallbackStreak: number
  /**
   * The route's mirror copies in flight, shared with the plans it replaced and will be replaced by: a copy started
   * before a reload counts against maxConcurrent (and in /status) until it ends, as it ends on the plan it began on.
   */
  readonly #mirrorSlots: { inFlight: number }

  /**
   * `previous`: the plan of the route of the same name that a reload replaces. `stickyBefore`: the read-your-writes
   * whose tokens this route's accepts (buildPlans: the same id's, else the same name's), none for a new route.
   */
  constructor (route: Route, config: RouteConfig, options: PlanOptions, previous: RoutePlan | undefined, copies: MirrorCopies, stickyBefore: ReadAfterWrite | undefined) {
    this.route = route
    this.mirrorCopies = copies
    this.#mirrorSlots = previous !== undefined ? previous.#mirrorSlots : { inFlight: 0 }
    this.#events = options.events
    this.#random = options.random
    const { reads, canary, mirror } = config
    this.reads = reads && {
      pool: reads.pool,
      methods: new Set(reads.methods),
      maxLagMs: reads.maxLagMs,
      // the gateway's wall clock (systemClock.now is Date.now): cookies must mean the same time on every replica;
      // injected, so a test can step time past the window instead of sleeping through it
      // a reload that changed the secret: the previous one's tokens stay valid for as long as they could be
      // signed for the route's id (host, path, methods, headers): a token of a.example/m pins nothing on b.example/m
      sticky: new ReadAfterWrite({ secret: options.secret, stickyAfterWriteMs: reads.stickyAfterWriteMs, routePath: route.prefix, routeId: route.id, now: () => options.clock.now(), previous: stickyBefore }),
    }
    // a reload that keeps the route's read pool keeps its fallback state: replicas down before it are down after it,
    // and a state reset to "not falling back" would say so in /status and log a second "on" with no "off" between
    this.#fallback = reads !== undefined && previous?.reads?.pool === reads.pool ? previous.#fallback : { active: false, streak: 0 }
    this.#fallbackStreak = options.fallbackStreak ?? DEFAULT_FALLBACK_STREAK
    const settings = canary && JSON.stringify(canary)
    // A reload that leaves the route's canary settings as they were keeps its weight, where the weight came from and
    // its error window: an automatic rollback (or an operator's weight) must not be undone by a reload that changed
    // something else. A reload that changes them (a new weight in the file, another pool) starts from the file.
    const kept = previous?.canary
    const clock = options.clock
    this.canary = canary && (kept !== undefined && kept.settings === settings ? kept : {
      settings: settings!,
      pool: canary.pool,
      // the error window on the clock that never steps (one stepped back would stop it forgetting); a rollback's
      // time, shown to operators, stays epoch time
      decider: new CanaryDecider({ ...canary, stickyBy: canary.stickyBy as CanaryConfig['stickyBy'] }, {
        now: () => clock.now(),
        monotonicNow: clock.monotonicNow && (() => clock.monotonicNow!()),
        random: options.random,
      }),
      key: canary.stickyBy === 'none' ? undefined : parseHashKey(canary.stickyBy),
      forceHeader: canary.force?.header.toLowerCase(),
      retired: false,
    })
    this.mirror = mirror
  }

  get name (): string { return this.route.label }

  /**
   * Whether reads are on the primary: no replica was available, or fallbackStreak reads in a row found none that
   * answered (until fallbackStreak replica answers in a row).
   */
  get fallback (): boolean { return this.#fallback.active }

  /**
   * A read goes to the primary: pinned by the client's write ('sticky'), or because no replica could take it or
   * none answered it ('fallback': counted toward the fallback state, reported once per change).
   */
  readToPrimary (reason: ReadToPrimaryReason): void {
    if (reason === 'fallback') this.#streak(true, this.#fallbackStreak)
    this.#events.readToPrimary(this.route, reason)
  }

  /** A read goes to the primary because no replica is available at all: reads are falling back at once. */
  noReplicaAvailable (): void {
    this.#streak(true, 1)
    this.#events.readToPrimary(this.route, 'fallback')
  }

  /** A replica answered a read: counted toward reads being on the replicas again (reported once per change). */
  replicaAnswered (): void {
    this.#streak(false, this.#fallbackStreak)
  }

  /** One more read that fell back (`fellBack`) or that a replica answered; the state turns after `needed` in a row. */
  #streak (fellBack: boolean, needed: number): void {
    const state = this.#fallback
    // the streak counts toward the other state: reads that agree with the state in force start none
    if (state.active !== fellBack) state.streak++
    else state.streak = 0
    if (state.active === fellBack || state.streak < needed) return
    state.active = fellBack
    state.streak = 0
    this.#events.fallback(this.route, fellBack)
  }

  /**
   * A finished request of the canary split: errors are 5xx answers and failures to reach the pool; `epoch` the
   * decider's when the request's version was decided.
   */
  recordVersion (version: 'canary' | 'stable', ok: boolean, epoch: number): void {
    const canary = this.canary
    if (canary === undefined || canary.retired) return
    const rollback = canary.decider.record(version, ok, epoch)
    if (rollback !== undefined) this.#events.rollback(this.route, rollback)
  }

  /** Operator: a new canary weight, at once (0-100). */
  setCanaryWeight (weight: number): void {
    if (this.canary === undefined) return
    this.canary.decider.setWeight(weight, 'operator')
    this.#events.weight(this.route, weight, 'operator')
  }

  /** Whether this request is one of the mirror's share (percent of requests). */
  mirrorThis (): boolean {
    return this.mirror !== undefined && this.mirror.percent > 0 && (this.mirror.percent >= 100 || this.#random() * 100 < this.mirror.percent)
  }

  reportMirror (outcome: MirrorOutcome): void { this.#events.mirror(this.route, outcome) }

  /** Takes a mirror slot (false: at maxConcurrent already); every true is matched by mirrorEnded(). */
  tryMirror (): boolean {
    const slots = this.#mirrorSlots
    if (this.mirror === undefined || slots.inFlight >= this.mirror.maxConcurrent) return false
    slots.inFlight++
    return true
  }

  mirrorEnded (): void { this.#mirrorSlots.inFlight-- }

  get mirrorsInFlight (): number { return this.#mirrorSlots.inFlight }
}

/** Each build's mirror copies (one set per gateway: a reload's plans take over the set of those they replace). */
const mirrorCopiesOf = new WeakMap<ReadonlyMap<Route, RoutePlan>, MirrorCopies>()

/**
 * A plan for every route that has a split, a canary or a mirror. `previous`: the plans a reload replaces, whose
 * canaries carry over to the route of the same name whose canary settings are unchanged, and whose mirror copies
 * in flight to the route of the same name.
 */
export function buildPlans (config: ResolvedConfig, routes: readonly Route[], options: PlanOptions, previous?: ReadonlyMap<Route, RoutePlan>): Map<Route, RoutePlan> {
  const before = new Map<string, RoutePlan>()
  const stickyBefore = new Map<string, ReadAfterWrite>()
  for (const [route, plan] of previous ?? []) {
    before.set(route.label, plan)
    if (plan.reads !== undefined) stickyBefore.set(route.id, plan.reads.sticky)
  }
  const copies = (previous !== undefined ? mirrorCopiesOf.get(previous) : undefined) ?? new MirrorCopies()
  // A route's label is its name, else its id, which its methods, host and headers are part of: a reload that changed
  // one of those (or named the route) left no plan under its label, and a canary rolled back for its errors came
  // back at the file's weight. Such a route takes the plan of the one route that left on its path with the same canary
  // settings, as if its label had stayed, when it is the only new route that would: two routes split from one must
  // not share one canary (an operator's weight set on one would move the other's traffic).
  const labels = new Set(routes.map((r) => r.label))
  const gone = [...before].filter(([label, plan]) => !labels.has(label) && plan.canary !== undefined).map(([, plan]) => plan)
  // each new route's claim (the one gone route on its path with its canary settings), and each claimed plan's claimants
  const claimants = new Map<RoutePlan, Route[]>()
  const claimOf = new Map<Route, RoutePlan>()
  for (const route of gone.length > 0 ? routes : []) {
    const canary = config.routes[route.index]!.canary
    if (canary === undefined || before.has(route.label)) continue
    const settings = JSON.stringify(canary)
    const same = gone.filter((p) => p.route.prefix === route.prefix && p.canary!.settings === settings)
    const former = same.length === 1 ? same[0]! : undefined
    if (former === undefined) continue
    claimOf.set(route, former)
    let all = claimants.get(former)
    if (all === undefined) claimants.set(former, all = [])
    all.push(route)
  }
  // of several claimants, the one on the former route's host takes it (a route renamed beside a new one for another host)
  const formerOf = (route: Route): RoutePlan | undefined => {
    const former = claimOf.get(route)
    if (former === undefined) return undefined
    const all = claimants.get(former)!
    const taker = all.length === 1 ? all : all.filter((r) => r.host === former.route.host)
    return taker.length === 1 && taker[0] === route ? former : undefined
  }
  const plans = new Map<Route, RoutePlan>()
  for (const route of routes) {
    const rc = config.routes[route.index]!
    if (rc.reads === undefined && rc.canary === undefined && rc.mirror === undefined) continue
    // pins carry over to the route of the same id (a rename keeps it), else of the same name (its host, path,
    // methods or headers changed); never to an unnamed route the canary's claim handed another's plan: a route with
    // another id is another route, its pins start afresh (README)
    const sticky = stickyBefore.get(route.id) ?? (route.label !== route.id ? before.get(route.label)?.reads?.sticky : undefined)
    plans.set(route, new RoutePlan(route, rc, options, before.get(route.label) ?? formerOf(route), copies, sticky))
  }
  mirrorCopiesOf.set(plans, copies)
  // a canary whose settings a reload changed (or removed) starts afresh: the answers of requests sent to it before
  // must not roll back, or be counted against, the new one, nor report a rollback of one no longer in force
  const inForce = new Set<CanaryPlan>()
  for (const plan of plans.values()) if (plan.canary !== undefined) inForce.add(plan.canary)
  // (the flag is the canary's: a request may have begun on a plan older than `previous` that shared it)
  for (const plan of previous?.values() ?? []) if (plan.canary !== undefined && !inForce.has(plan.canary)) plan.canary.retired = true
  return plans
}

/**
 * Closing: aborts every mirror copy in flight of the gateway whose plans these are (those of the plans they replaced
 * too) and starts no more, so that closing its pools never waits for shadow traffic.
 */
export function abortMirrors (plans: ReadonlyMap<Route, RoutePlan> | undefined, reason?: Error): void {
  if (plans !== undefined) mirrorCopiesOf.get(plans)?.abortAll(reason)
}
