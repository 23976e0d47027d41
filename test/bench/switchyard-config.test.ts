import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { benchConfig, SCALE_ROUTE_PATH, SCALE_ROUTES } from '../../bench/switchyard-config.ts'

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

t.test('full-10k-routes: the same as full with 10,000 prefix-stripping routes, the middle one routing the load', async (t) => {
  const full = validateConfig(benchConfig('full', origins))
  const scale = validateConfig(benchConfig('full-10k-routes', origins))
  t.equal(scale.routes.length, SCALE_ROUTES)
  t.ok(scale.routes.every((r) => r.pool === 'origin' && r.stripPrefix))
  t.ok(scale.routes.some((r) => r.path === SCALE_ROUTE_PATH && r.host === undefined && r.headers === undefined))
  t.strictSame({ ...scale, routes: full.routes }, full)
})

t.test('full-1k-targets: the same as full over 1,000 addresses, probed as often in all as full\'s two', async (t) => {
  const many = Array.from({ length: 1000 }, (_, i) => `http://127.1.${Math.floor(i / 250)}.${(i % 250) + 1}:8001`)
  const full = validateConfig(benchConfig('full', origins))
  const scale = validateConfig(benchConfig('full-1k-targets', many))
  const pool = scale.pools.origin!
  t.equal(pool.targets.length, 1000)
  t.equal(pool.targets.length / (pool.healthCheck!.intervalMs / 1000), full.pools.origin!.targets.length / (full.pools.origin!.healthCheck!.intervalMs / 1000), 'probes per second')
  const { targets: _a, healthCheck: _b, ...rest } = pool
  const { targets: _c, healthCheck: _d, ...fullRest } = full.pools.origin!
  t.strictSame(rest, fullRest)
  t.throws(() => benchConfig('full-1k-targets', origins), 'needs the 1,000 addresses')
})
