// A pool of targets behind one balancer, and the one owner of their availability: health checks, outlier
// ejection, drain and operators all change it through setStatus(), and every change (an ejection that ends
// included) is one 'status' event. The available set is precomputed so a request never scans every target.
import { EventEmitter } from 'node:events'
import type { Balancer, PickContext } from '../balancer/index.ts'
import type { PoolConfig } from '../config/schema.ts'
import { monotonicMs, systemClock, type Clock, type Timer } from '../runtime.ts'
import { INITIAL_STATUS, isAvailable, targetState, type TargetState, type TargetStatus } from './status.ts'
import type { SharedTarget, Target } from './target.ts'

export type Tier = 'primary' | 'backup' | 'none'

export interface PoolEvents {
  /** A target's status changed. */
  status: [target: Target, status: TargetStatus, previous: TargetStatus]
  /** A draining target finished its last request. */
  drained: [target: Target]
  /**
   * Traffic moved between tiers (failover to standby, failback to primaries, or to nothing); `byOperator` when an
   * operator's switchover or failback moved it (its 'operator' event follows), not health or a hold on its own.
   */
  tier: [tier: Tier, previous: Tier, byOperator: boolean]
  /** An operator switched the pool over to its backups or failed it back: the tier it is on now, and the one before. */
  operator: [to: 'backup' | 'primary', tier: Tier, previous: Tier]
  /** The target set changed (reload, DNS): removed targets take no new requests and close once drained. */
  targets: [added: readonly Target[], removed: readonly Target[]]
}

export class UpstreamPool extends EventEmitter<PoolEvents> {
  readonly name: string
  #config: PoolConfig
  #targets: readonly Target[]
  #targetSet: ReadonlySet<Target>
  /** Targets removed from the pool that still finish requests in flight. */
  readonly #retiring = new Set<Target>()
  /**
   * Busy targets of the pool this one replaced (a reload changed the pool's settings): their requests and
   * WebSocket tunnels run on there, and are listed (and disabled) with this pool's target of the same id, or a
   * drain here would read `drained` with a tunnel still open to the upstream. Dropped once idle (their pool tells
   * #heirs); their own pool closes them.
   */
  readonly #inherited = new Set<Target>()
  /**
   * The pool that inherited each of this pool's busy targets (a reload rebuilt it), told when the target's own
   * requests end: waiting for a /status read to prune it would keep the target, and through its SharedTarget this
   * whole retired pool, in memory. Links point from old to new only, and go with the target's last request.
   */
  readonly #heirs = new Map<Target, UpstreamPool>()
  readonly #balancer: Balancer
  readonly #clock: Clock
  readonly #status = new Map<Target, TargetStatus>()
  /** Rebuilt only when a status, the targets or the tier change; the balancers key their precomputed state on it. */
  #available: readonly Target[] = []
  #availableSet: ReadonlySet<Target> = new Set()
  /** Available backups while traffic is on the primaries (for retries of requests every primary failed). */
  #standby: readonly Target[] = []
  #standbySet: ReadonlySet<Target> = new Set()
  #tier: Tier = 'none'
  /** Epoch ms at which the next ejection ends. */
  #nextExpiry = Infinity
  #expiryTimer: Timer | undefined
  /** Set by an operator (switchover): stay on backups until failback(). */
  #tierSetByOperator = false
  /**
   * Traffic left the primaries that were serving (to the backups, or to nothing) and has not come back to them:
   * failback 'manual' holds it on the backups. Starting on the backups (DNS primaries not looked up yet) is none.
   */
  #failedOver = false

  constructor (name: string, config: PoolConfig, targets: readonly Target[], balancer: Balancer, clock: Clock = systemClock, statusOf?: (target: Target) => TargetStatus | undefined) {
    super()
    this.name = name
    this.#config = config
    this.#targets = targets
    this.#targetSet = new Set(targets)
    this.#balancer = balancer
    this.#clock = clock
    for (const t of targets) {
      this.#status.set(t, statusOf?.(t) ?? INITIAL_STATUS)
      this.#hearLoad(t)
    }
    this.#recompute()
  }

  get config (): PoolConfig { return this.#config }
  get targets (): readonly Target[] { return this.#targets }
  /** Whether `target` is one of the pool's targets now (not one removed that still finishes its requests). */
  has (target: Target): boolean { return this.#targetSet.has(target) }
  /**
   * Removed targets still finishing their requests (shown as draining until they close). An older copy of one of
   * the pool's targets (a reload changed its weight or the pool's settings) is not listed: the target's counts,
   * load and tunnels are its copies' together already.
   */
  get retiring (): readonly Target[] {
    const all = this.#allRetiring()
    if (all.length === 0) return all
    const current = new Set(this.#targets.map((t) => t.shared))
    return all.filter((t) => !current.has(t.shared))
  }

  /** Removed targets and the replaced pool's busy ones, older copies of the pool's targets included. */
  #allRetiring (): Target[] {
    for (const t of this.#inherited) {
      if (t.ownInFlight > 0) continue
      this.#inherited.delete(t)
      this.#status.delete(t)
    }
    return [...this.#retiring, ...this.#inherited]
  }

  /**
   * What each upstream's copies share, by URL: the pool's targets', then those of removed and inherited copies still
   * finishing requests. A target added back (a reload, a DNS answer) takes over its upstream's load and connections
   * from a copy still busy, or maxPerTarget and the balancer would see half of what the upstream carries.
   */
  sharedByUrl (): Map<string, SharedTarget> {
    const shared = new Map<string, SharedTarget>()
    for (const t of this.#targets) if (!shared.has(t.url)) shared.set(t.url, t.shared)
    for (const t of this.#allRetiring()) if (!shared.has(t.url)) shared.set(t.url, t.shared)
    return shared
  }

  /** Takes over the busy targets of the pool this one replaces (see #inherited), as draining. */
  inherit (previous: UpstreamPool): void {
    for (const t of [...previous.targets, ...previous.#allRetiring()]) {
      if (t.ownInFlight === 0 || this.#status.has(t)) continue
      this.#inherited.add(t)
      previous.#heirs.set(t, this)
      this.#status.set(t, Object.freeze({ ...previous.status(t), draining: true }))
    }
  }

  /**
   * Replaces the target set (a reload, a DNS answer). Targets kept by identity keep their state and connections;
   * new ones start from `statusOf` (or healthy); removed ones take no new request and close once drained.
   */
  setTargets (targets: readonly Target[], config: PoolConfig = this.#config, statusOf?: (target: Target) => TargetStatus | undefined): void {
    const before = new Set(this.#targets)
    const after = new Set(targets)
    const added = targets.filter((t) => !before.has(t))
    const removed = this.#targets.filter((t) => !after.has(t))
    this.#config = config
    this.#targets = targets
    this.#targetSet = after
    for (const t of added) {
      this.#status.set(t, statusOf?.(t) ?? INITIAL_STATUS)
      this.#hearLoad(t)
    }
    for (const t of removed) {
      this.#status.set(t, Object.freeze({ ...this.status(t), draining: true }))
      this.#retiring.add(t)
      this.#closeIfIdle(t)
    }
    // an operator's switchover ends with a config that has no backups left: left armed, it would move traffic the
    // moment a later reload added one, with no operator asking (the admin API refuses a switchover without backups
    // for the same reason). A backup name that answers nothing for a while (its Deployment restarting) keeps it.
    if (this.#tierSetByOperator && !hasBackups(config)) this.#tierSetByOperator = false
    this.#recompute()
    if (added.length > 0 || removed.length > 0) this.emit('targets', added, removed)
  }

  status (target: Target): TargetStatus {
    return this.#status.get(target) ?? INITIAL_STATUS
  }

  state (target: Target): TargetState {
    return targetState(this.status(target), target.inFlight, monotonicMs(this.#clock))
  }

  /** The one port through which anything changes a target's availability. */
  setStatus (target: Target, change: Partial<TargetStatus>): void {
    const previous = this.status(target)
    const next = { ...previous, ...change }
    if (next.healthy === previous.healthy && next.ejectedUntil === previous.ejectedUntil &&
      next.draining === previous.draining && next.disabled === previous.disabled && next.lagging === previous.lagging &&
      next.lagUnknown === previous.lagUnknown) return
    const frozen = Object.freeze(next)
    this.#status.set(target, frozen)
    // the tier event after the status change that caused it: the event feed and the log tell it in that order
    const tierChange = this.#update()
    this.emit('status', target, frozen, previous)
    if (tierChange !== undefined) this.emit('tier', ...tierChange, false)
    if (frozen.draining && !previous.draining && target.inFlight === 0) this.emit('drained', target)
    // Disable is "out at once", drain is "let what is open finish": a WebSocket tunnel has no deadline, so only
    // disable closes the tunnels open to the target (HAProxy's `shutdown sessions`), those of a copy a reload
    // replaced included. In-flight requests still finish: once answering, only idleMs and clientIdleMs bound them (a
    // stream that keeps sending runs on). Health, ejection, drain and
    // a reload that removes the target leave open tunnels alone until they close (Envoy's default).
    if (frozen.disabled && !previous.disabled) {
      target.closeTunnels()
      for (const old of this.retiring) if (old.id === target.id) old.closeTunnels()
    }
  }

  /** A request starts on `target`. */
  acquire (target: Target): void {
    target.acquire()
    this.#balancer.loadChanged?.(target)
  }

  /**
   * A request on `target` ended (failed: the target's fault); a draining target whose upstream has none left (through
   * any copy) is drained, and a removed copy with none of its own left closes. An older copy's last request is told
   * to the newest copy's pool (#hearLoad), in this pool or in the one a reload built.
   */
  release (target: Target, failed = false): void {
    const ownLeft = target.release(failed)
    this.#balancer.loadChanged?.(target)
    if (target.inFlight === 0) {
      // an older copy's last request is the newest copy's pool's to tell (#hearLoad), unless that copy has left this
      // pool (removed and closed): then this removed copy is what drained, as before it had a newer one
      const newest = target.shared.newest!
      if (newest === target || !this.#status.has(newest)) this.#drainedIfDraining(target)
    }
    if (ownLeft === 0) {
      this.#closeIfIdle(target)
      this.#passOn(target)
    }
  }

  /** `target`'s own requests ended: the pools that inherited it (one per later rebuild) drop it. */
  #passOn (target: Target): void {
    const heir = this.#heirs.get(target)
    if (heir === undefined) return
    this.#heirs.delete(target)
    if (heir.#inherited.delete(target)) heir.#status.delete(target)
    heir.#passOn(target)
  }

  #drainedIfDraining (target: Target): void {
    if (this.status(target).draining) this.emit('drained', target)
  }

  /**
   * The pool of an upstream's newest copy hears when an older copy of it (a straggler of the pool a reload replaced,
   * or one removed that is still busy) starts or ends a request: the balancer's scores are per target object, and
   * the newest copy's drain is done once the upstream's last request ends. The shared state refers to this pool
   * only until a newer copy is made.
   */
  #hearLoad (target: Target): void {
    target.shared.loadListener = () => {
      this.#balancer.loadChanged?.(target)
      if (target.inFlight === 0) this.#drainedIfDraining(target)
    }
  }

  #closeIfIdle (target: Target): void {
    if (!this.#retiring.has(target) || target.ownInFlight !== 0) return
    this.#retiring.delete(target)
    this.#status.delete(target)
    void this.#closeTarget(target)
  }

  /**
   * Closes a copy of this pool. If it is still its upstream's newest copy, the SharedTarget's loadListener is this
   * pool's (#hearLoad): cleared, or the SharedTarget (held by any older copy still busy, or inherited by a later
   * pool) would keep this closed pool in memory. A copy made later sets its own pool's.
   */
  #closeTarget (target: Target): Promise<void> {
    if (target.shared.newest === target) target.shared.loadListener = undefined
    return target.close()
  }

  /** Targets that may take a new request now: available primaries, else available backups. */
  available (): readonly Target[] {
    // (no clock read on a request's pick while nothing is ejected)
    if (this.#nextExpiry !== Infinity && monotonicMs(this.#clock) >= this.#nextExpiry) this.#expireEjections()
    return this.#available
  }

  get tier (): Tier {
    this.available()
    return this.#tier
  }

  /** Whether the current tier was chosen by an operator (switchover) rather than by health. */
  get tierSetByOperator (): boolean { return this.#tierSetByOperator }

  /**
   * Picks a target for a request. `tried` lists the targets this request already failed on, oldest first:
   * an untried target is preferred, and the one that failed last is never picked again if there is a choice.
   */
  pick (ctx: PickContext, tried?: readonly Target[]): Target | undefined {
    const candidates = this.available()
    if (tried === undefined || tried.length === 0) return this.#balancer.pick(candidates, ctx)
    // a retry: `tried` is a handful, so these are counts over it, never passes over the candidates
    if (distinctIn(this.#availableSet, tried) < candidates.length) return this.#balancer.pick(candidates, ctx, tried)
    // every target of the tier failed this request: its retries may use the other tier's available targets, the
    // standby before health checks notice, or, in a pool held on its backups, the primaries
    if (distinctIn(this.#standbySet, tried) < this.#standby.length) return this.#balancer.pick(this.#standby, ctx, tried)
    if (candidates.length > 1) return this.#balancer.pick(candidates, ctx, tried.slice(-1))
    return this.#balancer.pick(candidates, ctx)
  }

  /** Whether the config names backups (fixed ones, or a DNS name for them that may answer nothing at the moment). */
  get namesBackups (): boolean { return hasBackups(this.#config) }

  /**
   * Whether any of the pool's primaries (or backups) may take a request now. The admin API refuses a switchover or
   * failback that would move nothing now, so an operator's call never only arms or drops a hold.
   */
  anyAvailable (backup: boolean): boolean {
    this.available()
    const now = monotonicMs(this.#clock)
    return this.#targets.some((t) => t.backup === backup && isAvailable(this.status(t), now))
  }

  /** Operator: move traffic to the backups (while any is available) until failback(). */
  switchover (): void {
    this.available()
    this.#tierSetByOperator = true
    this.#operatorMoved('backup')
  }

  /** Operator: return traffic to the primaries (needed after a failover when failback is 'manual'). */
  failback (): void {
    this.available()
    this.#tierSetByOperator = false
    this.#failedOver = false
    this.#operatorMoved('primary')
  }

  /** The tier change an operator's action made (if any), then the action itself, with where traffic is now. */
  #operatorMoved (to: 'backup' | 'primary'): void {
    const previous = this.#tier
    const tierChange = this.#update()
    if (tierChange !== undefined) this.emit('tier', ...tierChange, true)
    this.emit('operator', to, this.#tier, previous)
  }

  /**
   * Why traffic is held on the backups: an operator's switchover, a failover under failback 'manual', or not held.
   * A pool without backups holds nothing: its traffic goes back to a primary the moment one is available.
   */
  get hold (): 'operator' | 'failover' | undefined {
    if (this.#tierSetByOperator) return 'operator'
    return this.#failedOver && this.#config.failback === 'manual' && hasBackups(this.#config) ? 'failover' : undefined
  }

  /** Whether traffic failed over from the primaries and has not come back to them (whatever the failback mode). */
  get failedOver (): boolean { return this.#failedOver }

  /**
   * Takes over the hold of the pool this one replaces (a reload changed its settings): an operator's switchover
   * stays until an operator fails back, and a failover (one under failback 'auto' included, the primaries still
   * out) holds while failback is 'manual'.
   */
  keepHold (hold: 'operator' | 'failover' | undefined, failedOver = hold === 'failover'): void {
    if (hold === 'operator' && hasBackups(this.#config)) this.#tierSetByOperator = true
    if (failedOver) this.#failedOver = true
    this.#recompute()
  }

  /** Ejections that have run out end through setStatus, so their end is an event like any other change. */
  #expireEjections (): void {
    const now = monotonicMs(this.#clock)
    for (const [target, status] of this.#status) {
      if (status.ejectedUntil !== 0 && status.ejectedUntil <= now) this.setStatus(target, { ejectedUntil: 0 })
    }
  }

  #recompute (): void {
    const tierChange = this.#update()
    if (tierChange !== undefined) this.emit('tier', ...tierChange, false)
  }

  /** Recomputes the available targets and the tier; the tier change, if any, for the caller to announce. */
  #update (): [tier: Tier, previous: Tier] | undefined {
    const now = monotonicMs(this.#clock)
    const primaries: Target[] = []
    const backups: Target[] = []
    let nextExpiry = Infinity
    // a serving primary that left by a verdict (health, ejection, lag), not by an operator's drain or disable; one
    // that failed before and never took traffic back moves none now
    let primaryFailed = false
    for (const t of this.targets) {
      const status = this.status(t)
      if (isAvailable(status, now)) (t.backup ? backups : primaries).push(t)
      else if (!t.backup && !status.draining && !status.disabled && this.#availableSet.has(t)) primaryFailed = true
      if (status.ejectedUntil > now && status.ejectedUntil < nextExpiry) nextExpiry = status.ejectedUntil
    }
    let tier: Tier
    if (backups.length > 0 && (primaries.length === 0 || this.hold !== undefined)) tier = 'backup'
    else tier = primaries.length > 0 ? 'primary' : 'none'
    // a failover is traffic leaving primaries that served it because one of them failed (not an operator's
    // switchover, nor the drain or disable of the last primaries in a rolling deploy: their enable brings traffic
    // back); it ends once traffic is back on the primaries, by an operator's failback or by itself (the standby went
    // away too)
    if (tier === 'primary') this.#failedOver = false
    else if (this.#tier === 'primary' && !this.#tierSetByOperator && primaryFailed) this.#failedOver = true
    // an unchanged set keeps its array, so the balancer keeps what it precomputed (and its place in a schedule)
    const available = tier === 'primary' ? primaries : tier === 'backup' ? backups : []
    // the other tier's available targets, for retries (pick): backups beside primaries, primaries beside a hold
    const standby = tier === 'primary' ? backups : tier === 'backup' ? primaries : []
    if (!sameTargets(available, this.#available)) {
      this.#available = Object.freeze(available)
      this.#availableSet = new Set(available)
    }
    if (!sameTargets(standby, this.#standby)) {
      this.#standby = Object.freeze(standby)
      this.#standbySet = new Set(standby)
    }
    this.#scheduleExpiry(nextExpiry)
    const previous = this.#tier
    this.#tier = tier
    return tier !== previous ? [tier, previous] : undefined
  }

  /** A timer at the next ejection's end, so a target's return is an event even when no request comes. */
  #scheduleExpiry (at: number): void {
    if (at === this.#nextExpiry && (at === Infinity || this.#expiryTimer !== undefined)) return
    this.#nextExpiry = at
    this.#clock.clearTimeout(this.#expiryTimer)
    this.#expiryTimer = undefined
    if (at === Infinity) return
    this.#expiryTimer = this.#clock.setTimeout(() => {
      this.#expiryTimer = undefined
      this.#expireEjections()
      // a timer that fired before the clock reached the expiry is set again
      if (this.#expiryTimer === undefined) this.#recompute()
    }, Math.max(0, at - monotonicMs(this.#clock)))
    this.#expiryTimer.unref()
  }

  async close (): Promise<void> {
    this.#clock.clearTimeout(this.#expiryTimer)
    this.#expiryTimer = undefined
    this.#nextExpiry = Infinity
    await Promise.all([...this.#targets, ...this.#retiring].map((t) => this.#closeTarget(t)))
  }
}

/** How many different targets of `targets` (a handful, maybe repeated) are in `set`. */
function distinctIn (set: ReadonlySet<Target>, targets: readonly Target[]): number {
  let n = 0
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    if (set.has(t) && targets.indexOf(t) === i) n++
  }
  return n
}

function sameTargets (a: readonly Target[], b: readonly Target[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether a pool's config names backups, fixed or discovered (whatever their names answer now). */
function hasBackups (config: PoolConfig): boolean {
  return config.targets.some((t) => t.backup) || config.discover.some((d) => d.backup)
}
