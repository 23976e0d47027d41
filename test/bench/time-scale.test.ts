import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { benchConfig } from '../../bench/switchyard-config.ts'
import { scaleTime } from '../../bench/time-scale.ts'

const origins = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002']

t.test('every time limit of the gateway is stretched by the factor, nothing else changes', async (t) => {
  const config = validateConfig(benchConfig('full', origins))
  const slow = scaleTime(config, 50)
  const p = config.pools.origin!
  const s = slow.pools.origin!
  t.same(s.timeouts, { ...p.timeouts, connectMs: p.timeouts.connectMs * 50, requestMs: p.timeouts.requestMs * 50, idleMs: p.timeouts.idleMs * 50, clientIdleMs: p.timeouts.clientIdleMs * 50 })
  t.same([s.healthCheck?.intervalMs, s.healthCheck?.timeoutMs], [50_000, 25_000])
  t.same([s.retry.perTryTimeoutMs, s.retry.backoff], [p.retry.perTryTimeoutMs * 50, { baseMs: p.retry.backoff.baseMs * 50, maxMs: p.retry.backoff.maxMs * 50 }])
  t.same([s.circuitBreaker.rollingWindowMs, s.circuitBreaker.resetTimeoutMs], [p.circuitBreaker.rollingWindowMs * 50, p.circuitBreaker.resetTimeoutMs * 50])
  t.same([s.outlier.baseEjectionMs, s.outlier.maxEjectionMs], [p.outlier.baseEjectionMs * 50, p.outlier.maxEjectionMs * 50])
  t.same([slow.server.headersTimeoutMs, slow.server.requestTimeoutMs], [config.server.headersTimeoutMs * 50, config.server.requestTimeoutMs * 50])
  const untimed = (c: typeof config) => ({ ...c, server: { ...c.server, headersTimeoutMs: 0, requestTimeoutMs: 0 }, pools: {} })
  t.strictSame(untimed(slow), untimed(config), 'the rest of the config is the same')
  t.same([s.targets, s.balancer, s.retry.attempts, s.retry.budget], [p.targets, p.balancer, p.retry.attempts, p.retry.budget])
})

t.test('a pool without health checks keeps none, a 0 (off) request timeout stays off, factor 1 is the config itself', async (t) => {
  const min = validateConfig(benchConfig('min', origins))
  t.equal(scaleTime(min, 50).pools.origin!.healthCheck, undefined)
  const off = { ...min, server: { ...min.server, requestTimeoutMs: 0 } }
  t.equal(scaleTime(off, 50).server.requestTimeoutMs, 0)
  t.equal(scaleTime(min, 1), min)
})
