// Heartbeat health checks: each target is probed on its own jittered timer; unhealthyThreshold
// consecutive failures take it out, healthyThreshold consecutive successes put it back.
import type { HealthCheckConfig } from '../config/schema.ts'
import type { RandomSource } from '../balancer/types.ts'
import type { UpstreamPool } from '../upstream/pool.ts'
import type { Target } from '../upstream/target.ts'

export const HEALTH_USER_AGENT = 'switchyard-health-check/0.1'

interface ProbeState {
  successes: number
  failures: number
  timer: NodeJS.Timeout | undefined
  controller: AbortController | undefined
}

export class ActiveHealthChecker {
  readonly #pool: UpstreamPool
  readonly #config: HealthCheckConfig
  readonly #random: RandomSource
  readonly #states = new Map<Target, ProbeState>()
  readonly #accepts: (status: number) => boolean
  #running = false

  constructor (pool: UpstreamPool, config: HealthCheckConfig, random: RandomSource = Math.random) {
    this.#pool = pool
    this.#config = config
    this.#random = random
    this.#accepts = statusMatcher(config.expectStatus)
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    for (const target of this.#pool.targets) {
      const state: ProbeState = { successes: 0, failures: 0, timer: undefined, controller: undefined }
      this.#states.set(target, state)
      // first probe somewhere in the first interval, so targets are not probed in lockstep
      this.#schedule(target, state, this.#random() * this.#config.intervalMs)
    }
  }

  stop (): void {
    this.#running = false
    for (const state of this.#states.values()) {
      clearTimeout(state.timer)
      state.controller?.abort()
    }
    this.#states.clear()
  }

  /** Runs one probe now and applies its result (also used by tests and the admin API). */
  async probe (target: Target): Promise<boolean> {
    const ok = await this.#probeOnce(target)
    const state = this.#states.get(target)
    if (state !== undefined) this.#record(target, state, ok)
    return ok
  }

  #schedule (target: Target, state: ProbeState, delay: number): void {
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.#probeOnce(target, state).then((ok) => {
        if (!this.#running || this.#states.get(target) !== state) return
        this.#record(target, state, ok)
        const { intervalMs, jitter } = this.#config
        this.#schedule(target, state, intervalMs * (1 - jitter / 2 + this.#random() * jitter))
      })
    }, delay)
    state.timer.unref()
  }

  #record (target: Target, state: ProbeState, ok: boolean): void {
    if (ok) {
      state.failures = 0
      state.successes++
      if (!target.status.healthy && state.successes >= this.#config.healthyThreshold) this.#pool.setStatus(target, { healthy: true })
    } else {
      state.successes = 0
      state.failures++
      if (target.status.healthy && state.failures >= this.#config.unhealthyThreshold) this.#pool.setStatus(target, { healthy: false })
    }
  }

  async #probeOnce (target: Target, state?: ProbeState): Promise<boolean> {
    const controller = new AbortController()
    if (state) state.controller = controller
    const timer = setTimeout(() => controller.abort(), this.#config.timeoutMs)
    try {
      const res = await target.probeClient.request({
        method: 'GET',
        path: this.#config.path,
        headers: { 'user-agent': HEALTH_USER_AGENT, host: target.host },
        signal: controller.signal,
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
      })
      await res.body.dump()
      return this.#accepts(res.statusCode)
    } catch {
      return false
    } finally {
      clearTimeout(timer)
      if (state) state.controller = undefined
    }
  }
}

/** [low, high] in ascending order is a range; anything else is a list of accepted statuses. */
export function statusMatcher (expect: readonly number[]): (status: number) => boolean {
  if (expect.length === 2 && expect[0]! < expect[1]!) {
    const [low, high] = expect as [number, number]
    return (s) => s >= low && s <= high
  }
  const set = new Set(expect)
  return (s) => set.has(s)
}
