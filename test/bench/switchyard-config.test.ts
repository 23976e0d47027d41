import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { benchConfig } from '../../bench/switchyard-config.ts'

const origins = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002']

t.test('min: one target, breaker, outlier detection and retries off, nothing logged', async (t) => {
  const config = validateConfig(benchConfig('min', origins))
  const pool = config.pools.origin!
  t.same(pool.targets.map((x) => x.url), ['http://127.0.0.1:8001'])
  t.same([pool.circuitBreaker.enabled, pool.outlier.enabled, pool.retry.attempts, pool.healthCheck], [false, false, 1, undefined])
  t.equal(config.log.level, 'silent')
})

t.test('full: both origin addresses, health checks, breaker, budgeted retries, outlier detection, access log to stdout', async (t) => {
  const config = validateConfig(benchConfig('full', origins))
  const pool = config.pools.origin!
  t.same(pool.targets.map((x) => x.url), origins)
  t.equal(pool.healthCheck?.path, '/health')
  t.same([pool.circuitBreaker.enabled, pool.outlier.enabled, pool.retry.attempts > 1, pool.retry.budget.percent], [true, true, true, 20])
  t.same([config.log.level, config.log.destination], ['info', 'stdout'])
  t.equal(config.metrics.enabled, true, 'metrics on')
})

t.test('full-nometrics: the same as full with metrics off', async (t) => {
  const on = validateConfig(benchConfig('full', origins))
  const off = validateConfig(benchConfig('full-nometrics', origins))
  t.equal(off.metrics.enabled, false)
  t.strictSame({ ...off, metrics: on.metrics }, on)
})

t.test('full-nolog: the same as full with the access log off (warnings still logged)', async (t) => {
  const on = validateConfig(benchConfig('full', origins))
  const off = validateConfig(benchConfig('full-nolog', origins))
  t.equal(off.log.level, 'warn')
  t.strictSame({ ...off, log: on.log }, on)
})

t.test('full needs two origin addresses', async (t) => {
  t.throws(() => benchConfig('full', origins.slice(0, 1)))
})
