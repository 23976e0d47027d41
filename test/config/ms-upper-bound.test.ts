// Every millisecond field is capped at 2^31-1 ms, the longest a Node timer waits: a longer value would reach
// setTimeout and fire after 1 ms (a 30-day requestMs answering 504 at once, a probe storm, a timer storm).
import t from 'tap'
import { problemsOf } from './problems.ts'

const MAX = 2_147_483_647
const THIRTY_DAYS = 30 * 24 * 3600 * 1000

/** [path, a config with `value` there] */
const fields: Array<[string, (value: number) => Record<string, unknown>]> = [
  ['pools.p.timeouts.connectMs', (v) => pool({ timeouts: { connectMs: v } })],
  ['pools.p.timeouts.requestMs', (v) => pool({ timeouts: { requestMs: v } })],
  ['pools.p.timeouts.idleMs', (v) => pool({ timeouts: { idleMs: v } })],
  ['pools.p.timeouts.clientIdleMs', (v) => pool({ timeouts: { clientIdleMs: v } })],
  ['pools.p.timeouts.tunnelIdleMs', (v) => pool({ timeouts: { tunnelIdleMs: v } })],
  ['pools.p.connections.keepAliveMs', (v) => pool({ connections: { keepAliveMs: v } })],
  ['pools.p.healthCheck.intervalMs', (v) => pool({ healthCheck: { intervalMs: v } })],
  ['pools.p.healthCheck.timeoutMs', (v) => pool({ healthCheck: { intervalMs: MAX, timeoutMs: v } })],
  ['pools.p.outlier.baseEjectionMs', (v) => pool({ outlier: { baseEjectionMs: v } })],
  ['pools.p.outlier.maxEjectionMs', (v) => pool({ outlier: { maxEjectionMs: v } })],
  ['pools.p.circuitBreaker.rollingWindowMs', (v) => pool({ circuitBreaker: { rollingWindowMs: v } })],
  ['pools.p.circuitBreaker.resetTimeoutMs', (v) => pool({ circuitBreaker: { resetTimeoutMs: v } })],
  ['pools.p.retry.perTryTimeoutMs', (v) => pool({ retry: { perTryTimeoutMs: v } })],
  ['pools.p.retry.backoff.baseMs', (v) => pool({ retry: { backoff: { baseMs: v, maxMs: MAX } } })],
  ['pools.p.retry.backoff.maxMs', (v) => pool({ retry: { backoff: { maxMs: v } } })],
  ['pools.p.targets[1].refreshMs', (v) => pool({ targets: ['http://127.0.0.1:1', { dns: 'x.example', port: 80, refreshMs: v }] })],
  ['routes[0].reads.stickyAfterWriteMs', (v) => route({ reads: { pool: 'q', stickyAfterWriteMs: v } })],
  // (maxLagMs needs the reads pool's health checks: the only way a replica reports its lag)
  ['routes[0].reads.maxLagMs', (v) => withCheckedQ(route({ reads: { pool: 'q', maxLagMs: v } }))],
  ['routes[0].canary.rollback.windowMs', (v) => route({ canary: { pool: 'q', weight: 10, rollback: { windowMs: v } } })],
  ['server.headersTimeoutMs', (v) => top({ server: { headersTimeoutMs: v } })],
  ['server.requestTimeoutMs', (v) => top({ server: { requestTimeoutMs: v } })],
  ['server.maxEventLoopDelayMs', (v) => top({ server: { maxEventLoopDelayMs: v } })],
  ['shutdown.delayMs', (v) => top({ shutdown: { delayMs: v } })],
  ['shutdown.timeoutMs', (v) => top({ shutdown: { timeoutMs: v } })],
]

function top (extra: Record<string, unknown>): Record<string, unknown> {
  return {
    secret: 'a-secret-of-16-chars',
    pools: { p: { targets: ['http://127.0.0.1:1'] }, q: { targets: ['http://127.0.0.1:2'] } },
    routes: [{ path: '/', pool: 'p' }],
    ...extra,
  }
}
function pool (settings: Record<string, unknown>): Record<string, unknown> {
  const config = top({})
  ;(config.pools as Record<string, unknown>).p = { targets: ['http://127.0.0.1:1'], ...settings }
  return config
}
function withCheckedQ (config: Record<string, unknown>): Record<string, unknown> {
  ;(config.pools as Record<string, unknown>).q = { targets: ['http://127.0.0.1:2'], healthCheck: { path: '/health' } }
  return config
}
function route (settings: Record<string, unknown>): Record<string, unknown> {
  return top({ routes: [{ path: '/', pool: 'p', ...settings }] })
}


for (const [path, configWith] of fields) {
  t.test(path, async (t) => {
    t.same(problemsOf(configWith(MAX)), [], '2^31-1 ms is accepted')
    for (const value of [MAX + 1, THIRTY_DAYS, 1e12]) {
      // (a field bounded by another, healthCheck.timeoutMs by intervalMs say, may break that relation too)
      t.ok(problemsOf(configWith(value)).some((p) => p.startsWith(`${path}: `)), `${value} is refused at ${path}`)
    }
  })
}
