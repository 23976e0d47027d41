// A pool of targets behind one balancer. Everything that changes a target's availability
// (health checks, outlier ejection, drain, operators) goes through setStatus(); the pool keeps
// the available set precomputed so a request never scans every target's state.
import { EventEmitter } from 'node:events'
import type { Balancer, PickContext } from '../balancer/index.ts'
import type { PoolConfig } from '../config/schema.ts'
import type { Target, TargetStatus } from './target.ts'

export type Tier = 'primary' | 'backup' | 'none'

export interface PoolEvents {
  /** A target's status changed. */
  status: [target: Target, status: TargetStatus, previous: TargetStatus]
  /** Traffic moved between tiers (failover to standby, failback to primaries, or to nothing). */
  tier: [tier: Tier, previous: Tier]
}

export class UpstreamPool extends EventEmitter<PoolEvents> {
  readonly name: string
  readonly config: PoolConfig
  readonly targets: readonly Target[]
  readonly #balancer: Balancer
  readonly #now: () => number
  #available: readonly Target[] = []
  /** Available backups while traffic is on the primaries (for retries of requests every primary failed). */
  #standby: readonly Target[] = []
  #tier: Tier = 'none'
  /** Epoch ms at which an ejection ends and the available set must be recomputed. */
  #recomputeAt = Infinity
  /** Set by an operator (switchover) or by a failover under failback 'manual': stay on backups. */
  #holdStandby = false

  constructor (name: string, config: PoolConfig, targets: readonly Target[], balancer: Balancer, now: () => number = Date.now) {
    super()
    this.name = name
    this.config = config
    this.targets = targets
    this.#balancer = balancer
    this.#now = now
    this.#recompute()
  }

  /** The one port through which anything changes a target's availability. */
  setStatus (target: Target, change: Partial<TargetStatus>): void {
    const previous = target.status
    const next = { ...previous, ...change }
    if (next.healthy === previous.healthy && next.ejectedUntil === previous.ejectedUntil &&
      next.draining === previous.draining && next.disabled === previous.disabled) return
    target.status = Object.freeze(next)
    this.#recompute()
    this.emit('status', target, target.status, previous)
  }

  /** Targets that may take a new request now: available primaries, else available backups. */
  available (): readonly Target[] {
    if (this.#now() >= this.#recomputeAt) this.#recompute()
    return this.#available
  }

  get tier (): Tier {
    this.available()
    return this.#tier
  }

  /**
   * Picks a target for a request. `tried` lists the targets this request already failed on, oldest first:
   * an untried target is preferred, and the one that failed last is never picked again if there is a choice.
   */
  pick (ctx: PickContext, tried?: readonly Target[]): Target | undefined {
    let candidates = this.available()
    if (tried !== undefined && tried.length > 0) {
      const untried = candidates.filter((t) => !tried.includes(t))
      if (untried.length > 0) candidates = untried
      else {
        // every primary failed this request: its retries may use the standby before health checks notice
        const standby = this.#tier === 'primary' ? this.#standby.filter((t) => !tried.includes(t)) : []
        if (standby.length > 0) candidates = standby
        else if (candidates.length > 1) {
          const last = tried[tried.length - 1]
          candidates = candidates.filter((t) => t !== last)
        }
      }
    }
    return this.#balancer.pick(candidates, ctx)
  }

  /** Operator: move traffic to the backups (while any is available) until failback(). */
  switchover (): void {
    this.#holdStandby = true
    this.#recompute()
  }

  /** Operator: return traffic to the primaries (needed after a failover when failback is 'manual'). */
  failback (): void {
    this.#holdStandby = false
    this.#recompute()
  }

  #recompute (): void {
    const now = this.#now()
    const primaries: Target[] = []
    const backups: Target[] = []
    let recomputeAt = Infinity
    for (const t of this.targets) {
      if (t.isAvailable(now)) (t.backup ? backups : primaries).push(t)
      else if (t.status.ejectedUntil > now && t.status.ejectedUntil < recomputeAt) recomputeAt = t.status.ejectedUntil
    }
    let tier: Tier
    if (backups.length > 0 && (primaries.length === 0 || this.#holdStandby)) tier = 'backup'
    else tier = primaries.length > 0 ? 'primary' : 'none'
    // failback 'manual': once on standby, stay there until an operator says otherwise
    if (tier === 'backup' && this.config.failback === 'manual') this.#holdStandby = true
    this.#available = tier === 'primary' ? primaries : tier === 'backup' ? backups : []
    this.#standby = tier === 'primary' ? backups : []
    this.#recomputeAt = recomputeAt
    const previous = this.#tier
    this.#tier = tier
    if (tier !== previous) this.emit('tier', tier, previous)
  }

  async close (): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close()))
  }
}
