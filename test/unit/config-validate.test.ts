import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { problemPaths, problemsOf } from '../config/problems.ts'

const minimal = (): Record<string, unknown> => ({
  pools: { payment: { targets: ['http://127.0.0.1:3001'] } },
  routes: [{ path: '/', pool: 'payment' }],
})


/** Pools payment and other (other's settings given), one route to payment with `route`'s fields. */
function twoPools (route: Record<string, unknown>, other: Record<string, unknown> = {}): Record<string, unknown> {
  return { secret: 'a-secret-of-16-chars', pools: { payment: { targets: ['http://127.0.0.1:3001'] }, other: { targets: ['http://127.0.0.1:3002'], ...other } }, routes: [{ path: '/', pool: 'payment', ...route }] }
}

function withPool (pool: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { pools: { payment: { targets: ['http://127.0.0.1:3001'], ...pool } }, routes: [{ path: '/', pool: 'payment' }], ...extra }
}

t.test('defaults are fully applied', async (t) => {
  const config = validateConfig(minimal())
  t.strictSame(JSON.parse(JSON.stringify(config)), {
    server: { host: '0.0.0.0', port: 8080, trustedProxies: [], reusePort: false, backlog: 4096, dropUnderscoreHeaders: true, maxHeaderBytes: 16384, maxUrlBytes: 8192, headersTimeoutMs: 60000, requestTimeoutMs: 300000, maxEventLoopDelayMs: 0, maxHeapUsedBytes: 0, maxRssBytes: 0 },
    admin: { host: '127.0.0.1', port: 9901 },
    shutdown: { delayMs: 5000, timeoutMs: 25000 },
    metrics: { enabled: true },
    log: { level: 'info', destination: 'stdout', pretty: false },
    pools: {
      payment: {
        targets: [{ url: 'http://127.0.0.1:3001', weight: 1, backup: false }],
        discover: [],
        balancer: 'round-robin',
        timeouts: { connectMs: 1000, requestMs: 30000, idleMs: 60000, clientIdleMs: 60000, tunnelIdleMs: 3600000 },
        preserveHost: true,
        maxResponseHeaderBytes: 16384,
        tls: { rejectUnauthorized: true },
        connections: { maxPerTarget: 1024, maxQueuedPerTarget: 1024, keepAliveMs: 30000 },
        outlier: { enabled: true, consecutiveFailures: 5, baseEjectionMs: 30000, maxEjectionMs: 300000, maxEjectionPercent: 50 },
        failureStatuses: [502, 503, 504],
        failback: 'auto',
        circuitBreaker: { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 20, rollingWindowMs: 10000, resetTimeoutMs: 10000 },
        retry: {
          attempts: 3,
          retryOn: ['connect-failure', 'reset', 'timeout', 502, 503, 504],
          methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'],
          idempotencyKey: false,
          backoff: { baseMs: 25, maxMs: 250 },
          perTryTimeoutMs: 2000,
          maxBufferBytes: 65536,
          budget: { percent: 20, minConcurrent: 3 },
        },
      },
    },
    routes: [{ path: '/', pool: 'payment', stripPrefix: false }],
  })
  t.equal(config.pools.payment!.healthCheck, undefined, 'health checks are opt-in')
})

t.test('health check defaults apply once health checks are on', async (t) => {
  const config = validateConfig(withPool({ healthCheck: {} }))
  t.strictSame({ ...config.pools.payment!.healthCheck }, {
    path: '/health', intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3, expectStatus: ['200-399'], jitter: 0.2,
  })
})

// The README's config reference gives these defaults for a route's read/write split, canary and mirror: an operator
// who writes just { pool } (and a canary's weight) gets them, so a changed default would silently change how long
// reads stick to the primary, when a canary is rolled back, or how much traffic is shadowed.
t.test('reads, canary and mirror defaults apply once they are on', async (t) => {
  const config = validateConfig({
    secret: 'a-secret-of-16-chars',
    pools: { payment: { targets: ['http://a:1'] }, replicas: { targets: ['http://b:1'] }, next: { targets: ['http://c:1'] }, shadow: { targets: ['http://d:1'] } },
    routes: [
      { path: '/r', pool: 'payment', reads: { pool: 'replicas' } },
      { path: '/c', pool: 'payment', canary: { pool: 'next', weight: 10, force: { header: 'x-canary' } }, mirror: { pool: 'shadow' } },
    ],
  })
  t.strictSame(JSON.parse(JSON.stringify(config.routes[0]!.reads)), { pool: 'replicas', methods: ['GET', 'HEAD'], stickyAfterWriteMs: 3000 })
  t.strictSame(JSON.parse(JSON.stringify(config.routes[1]!.canary)), {
    pool: 'next', weight: 10, stickyBy: 'none', force: { header: 'x-canary', values: ['always'] },
    rollback: { maxErrorRatePercent: 5, minRequests: 100, windowMs: 30000 },
  })
  t.strictSame(JSON.parse(JSON.stringify(config.routes[1]!.mirror)), { pool: 'shadow', percent: 100, maxConcurrent: 64 })
})

t.test('partial sections are completed, given values kept', async (t) => {
  const config = validateConfig(withPool({
    targets: [{ url: 'http://a:1', weight: 3 }, { url: 'https://b', backup: true }],
    retry: { attempts: 5, backoff: { maxMs: 1000 } },
    balancer: { type: 'hash', key: 'cookie:session' },
  }))
  const pool = config.pools.payment!
  t.strictSame(pool.targets.map((x) => ({ ...x })), [{ url: 'http://a:1', weight: 3, backup: false }, { url: 'https://b', weight: 1, backup: true }])
  t.equal(pool.retry.attempts, 5)
  t.strictSame({ ...pool.retry.backoff }, { baseMs: 25, maxMs: 1000 })
  t.strictSame({ ...pool.retry.budget }, { percent: 20, minConcurrent: 3 })
  t.strictSame({ ...pool.balancer as object }, { type: 'hash', key: 'cookie:session' })
})

t.test('the result is deeply frozen', async (t) => {
  const config = validateConfig(withPool({ healthCheck: {}, balancer: { type: 'hash', key: 'ip' } }, { server: { trustedProxies: ['10.0.0.1'] } }))
  const unfrozen: string[] = []
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object') return
    if (!Object.isFrozen(v)) unfrozen.push(path || '(root)')
    for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`)
  }
  walk(config, '')
  t.strictSame(unfrozen, [])
  t.throws(() => { (config.pools.payment!.targets as unknown as unknown[]).push('x') }, TypeError)
  t.throws(() => { (config.server as { port: number }).port = 1 }, TypeError)
})

t.test('the input is not modified', async (t) => {
  const input = minimal()
  const before = JSON.stringify(input)
  validateConfig(input)
  t.equal(JSON.stringify(input), before)
  t.notOk(Object.isFrozen(input))
})

t.test('ConfigError carries code and problems', async (t) => {
  const err = t.throws(() => validateConfig({ pools: {}, routes: [] }, 'my.config.ts')) as unknown
  t.type(err, ConfigError)
  t.type(err, Error)
  const e = err as ConfigError
  t.equal(e.code, 'invalid_config')
  t.equal(e.name, 'ConfigError')
  t.ok(Array.isArray(e.problems) && e.problems.length > 0)
  t.ok(e.problems.some((p) => p.startsWith('routes: ')), 'empty routes reported at routes')
})

t.test('not an object at all', async (t) => {
  for (const input of [null, undefined, [], 'config', 42]) {
    t.ok(problemsOf(input).length > 0, `${JSON.stringify(input)} refused`)
  }
  t.strictSame(problemsOf({}).filter((p) => /^(pools|routes):/.test(p)).length, 2, 'missing pools and routes both reported')
})

t.test('each problem is reported at its path', async (t) => {
  const cases: { name: string; input: Record<string, unknown>; problem: string | RegExp }[] = [
    {
      name: 'bad target URL (object form)',
      input: withPool({ targets: ['http://127.0.0.1:3001', { url: 'ftp://x' }] }),
      problem: 'pools.payment.targets[1].url: must use http:// or https:// (not ftp://)',
    },
    { name: 'bad target URL (string form)', input: withPool({ targets: ['http://127.0.0.1:3001', 'not a url'] }), problem: /^pools\.payment\.targets\[1\]: / },
    { name: 'target URL with a path', input: withPool({ targets: ['http://a:1/api'] }), problem: /^pools\.payment\.targets\[0\]: must not have a path \('\/api'\)/ },
    { name: 'trustedProxies entry that is not an IP or CIDR', input: withPool({}, { server: { trustedProxies: ['10.0.0.0/8', 'bogus'] } }), problem: /^server\.trustedProxies\[1\]: / },
    { name: 'the old retryIdempotencyKey says where it went', input: withPool({ retryIdempotencyKey: true }), problem: /^pools\.payment\.retryIdempotencyKey: moved: .*retry: \{ idempotencyKey: true \}/ },
    { name: 'the old shutdownGraceMs says what replaced it', input: withPool({}, { server: { shutdownGraceMs: 1000 } }), problem: /^server\.shutdownGraceMs: replaced by .*shutdown/ },
    { name: 'two routes with one name', input: withPool({}, { routes: [{ name: 'a', path: '/x', pool: 'payment' }, { name: 'a', path: '/y', pool: 'payment' }] }), problem: /^routes\[1\]\.name: / },
    { name: 'a short admin token', input: withPool({}, { admin: { token: 'short' } }), problem: /^admin\.token: / },
    { name: 'target URL with credentials', input: withPool({ targets: ['http://u:p@a:1'] }), problem: /^pools\.payment\.targets\[0\]: / },
    { name: 'weight 0', input: withPool({ targets: [{ url: 'http://a:1', weight: 0 }] }), problem: /^pools\.payment\.targets\[0\]\.weight: / },
    { name: 'negative weight', input: withPool({ targets: [{ url: 'http://a:1', weight: -2 }] }), problem: /^pools\.payment\.targets\[0\]\.weight: / },
    { name: 'no targets', input: withPool({ targets: [] }), problem: /^pools\.payment\.targets: / },
    {
      name: 'only backup targets',
      input: withPool({ targets: [{ url: 'http://a:1', backup: true }, { url: 'http://b:1', backup: true }] }),
      problem: /^pools\.payment\.targets: /,
    },
    { name: 'duplicate target', input: withPool({ targets: ['http://a:1', 'http://b:1', 'http://a:1'] }), problem: /^pools\.payment\.targets\[2\]\.url: / },
    { name: 'duplicate target, same origin spelled differently', input: withPool({ targets: ['http://A:80', { url: 'http://a/' }] }), problem: /^pools\.payment\.targets\[1\]\.url: / },
    { name: 'unknown pool field', input: withPool({ weights: 1 }), problem: /^pools\.payment: / },
    { name: 'unknown target field', input: withPool({ targets: [{ url: 'http://a:1', wieght: 2 }] }), problem: /^pools\.payment\.targets\[0\]/ },
    { name: 'unknown nested field', input: withPool({ retry: { backoff: { base: 1 } } }), problem: /^pools\.payment\.retry\.backoff: / },
    { name: 'unknown top-level field', input: { ...minimal(), extra: true }, problem: /extra/ },
    { name: 'bad balancer', input: withPool({ balancer: 'fastest' }), problem: /^pools\.payment\.balancer: / },
    { name: 'hash without key', input: withPool({ balancer: { type: 'hash' } }), problem: /^pools\.payment\.balancer/ },
    { name: 'bad hash key', input: withPool({ balancer: { type: 'hash', key: 'query:x' } }), problem: /^pools\.payment\.balancer\.key: / },
    { name: 'hash header without name', input: withPool({ balancer: { type: 'hash', key: 'header:' } }), problem: /^pools\.payment\.balancer\.key: / },
    { name: 'bad pool name', input: { pools: { 'bad name': { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'bad name' }] }, problem: /^pools/ },
    { name: 'unknown pool in route', input: { ...minimal(), routes: [{ path: '/', pool: 'payment' }, { path: '/x', pool: 'nope' }] }, problem: /^routes\[1\]\.pool: / },
    { name: 'route path without /', input: { ...minimal(), routes: [{ path: 'x', pool: 'payment' }] }, problem: /^routes\[0\]\.path: / },
    { name: 'route path with ?', input: { ...minimal(), routes: [{ path: '/x?y', pool: 'payment' }] }, problem: /^routes\[0\]\.path: / },
    // requests spell these percent-encoded: such a route would never match (and a split route's cookie Path refused it at start)
    { name: 'route path with a non-ASCII character', input: { ...minimal(), routes: [{ path: '/café', pool: 'payment' }] }, problem: /^routes\[0\]\.path: / },
    { name: 'route path with a space', input: { ...minimal(), routes: [{ path: '/a b', pool: 'payment' }] }, problem: /^routes\[0\]\.path: / },
    {
      name: "split route path with ';' (its read-your-writes cookie's Path)",
      input: { pools: { payment: { targets: ['http://a:1'] }, replicas: { targets: ['http://b:1'] } }, routes: [{ path: '/api;v=1', pool: 'payment', reads: { pool: 'replicas' } }] },
      problem: /^routes\[0\]\.path: /,
    },
    { name: 'bad route method', input: { ...minimal(), routes: [{ path: '/', pool: 'payment', methods: ['FETCH'] }] }, problem: /^routes\[0\]\.methods\[0\]: / },
    { name: 'port out of range', input: { ...minimal(), server: { port: 70000 } }, problem: /^server\.port: / },
    { name: 'retry attempts 0', input: withPool({ retry: { attempts: 0 } }), problem: /^pools\.payment\.retry\.attempts: / },
    { name: 'bad retryOn item', input: withPool({ retry: { retryOn: ['sometimes'] } }), problem: /^pools\.payment\.retry\.retryOn\[0\]: / },
    { name: 'bad failback', input: withPool({ failback: 'never' }), problem: /^pools\.payment\.failback: / },
    { name: 'health check path without /', input: withPool({ healthCheck: { path: 'health' } }), problem: /^pools\.payment\.healthCheck\.path: / },
    { name: 'health check timeout > interval', input: withPool({ healthCheck: { intervalMs: 1000, timeoutMs: 2000 } }), problem: /^pools\.payment\.healthCheck\.timeoutMs: / },
    { name: 'backoff max < base', input: withPool({ retry: { backoff: { baseMs: 100, maxMs: 50 } } }), problem: /^pools\.payment\.retry\.backoff\.maxMs: / },
    { name: 'percent > 100', input: withPool({ outlier: { maxEjectionPercent: 101 } }), problem: /^pools\.payment\.outlier\.maxEjectionPercent: / },
    { name: 'non-integer ms', input: withPool({ timeouts: { connectMs: 1.5 } }), problem: /^pools\.payment\.timeouts\.connectMs: / },
    { name: 'missing route pool', input: { ...minimal(), routes: [{ path: '/' }] }, problem: /^routes\[0\]\.pool: / },
    // each bound one step past its edge (the accepted edges are in 'valid edge values are accepted')
    { name: 'port 65536', input: { ...minimal(), server: { port: 65536 } }, problem: /^server\.port: / },
    { name: 'a millisecond field that must be positive at 0', input: withPool({ timeouts: { connectMs: 0 } }), problem: /^pools\.payment\.timeouts\.connectMs: / },
    { name: 'a millisecond field where 0 is off, at -1', input: withPool({ timeouts: { tunnelIdleMs: -1 } }), problem: /^pools\.payment\.timeouts\.tunnelIdleMs: / },
    { name: 'failure status 600', input: withPool({ failureStatuses: [502, 600] }), problem: /^pools\.payment\.failureStatuses\[1\]: / },
    { name: 'DNS name that is not a host name', input: withPool({ targets: ['http://a:1', { dns: 'svc example', port: 80 }] }), problem: /^pools\.payment\.targets\[1\]\.dns: / },
    { name: 'DNS target port 0', input: withPool({ targets: ['http://a:1', { dns: 'svc.example', port: 0 }] }), problem: /^pools\.payment\.targets\[1\]\.port: / },
    { name: 'maxPerTarget 0', input: withPool({ connections: { maxPerTarget: 0 } }), problem: /^pools\.payment\.connections\.maxPerTarget: / },
    { name: 'maxQueuedPerTarget 0', input: withPool({ connections: { maxQueuedPerTarget: 0 } }), problem: /^pools\.payment\.connections\.maxQueuedPerTarget: / },
    { name: 'healthyThreshold 0', input: withPool({ healthCheck: { healthyThreshold: 0 } }), problem: /^pools\.payment\.healthCheck\.healthyThreshold: / },
    { name: 'unhealthyThreshold 0', input: withPool({ healthCheck: { unhealthyThreshold: 0 } }), problem: /^pools\.payment\.healthCheck\.unhealthyThreshold: / },
    { name: 'jitter above 1', input: withPool({ healthCheck: { jitter: 1.5 } }), problem: /^pools\.payment\.healthCheck\.jitter: / },
    { name: 'consecutiveFailures 0', input: withPool({ outlier: { consecutiveFailures: 0 } }), problem: /^pools\.payment\.outlier\.consecutiveFailures: / },
    { name: 'volumeThreshold -1', input: withPool({ circuitBreaker: { volumeThreshold: -1 } }), problem: /^pools\.payment\.circuitBreaker\.volumeThreshold: / },
    { name: 'retry attempts 11', input: withPool({ retry: { attempts: 11 } }), problem: /^pools\.payment\.retry\.attempts: / },
    { name: 'maxBufferBytes -1', input: withPool({ retry: { maxBufferBytes: -1 } }), problem: /^pools\.payment\.retry\.maxBufferBytes: / },
    { name: 'budget minConcurrent -1', input: withPool({ retry: { budget: { minConcurrent: -1 } } }), problem: /^pools\.payment\.retry\.budget\.minConcurrent: / },
    { name: 'maxResponseHeaderBytes 1023', input: withPool({ maxResponseHeaderBytes: 1023 }), problem: /^pools\.payment\.maxResponseHeaderBytes: / },
    { name: 'maxResponseHeaderBytes 1 MiB + 1', input: withPool({ maxResponseHeaderBytes: 1024 * 1024 + 1 }), problem: /^pools\.payment\.maxResponseHeaderBytes: / },
    { name: 'backlog 0', input: withPool({}, { server: { backlog: 0 } }), problem: /^server\.backlog: / },
    { name: 'server maxHeaderBytes 1023', input: withPool({}, { server: { maxHeaderBytes: 1023 } }), problem: /^server\.maxHeaderBytes: / },
    { name: 'server maxUrlBytes 255', input: withPool({}, { server: { maxUrlBytes: 255 } }), problem: /^server\.maxUrlBytes: / },
    { name: 'an admin token one character short', input: withPool({}, { admin: { token: 'x'.repeat(15) } }), problem: /^admin\.token: / },
    { name: 'a secret one character short', input: withPool({}, { secret: 'x'.repeat(15) }), problem: /^secret: / },
    { name: 'an empty log destination', input: withPool({}, { log: { destination: '' } }), problem: /^log\.destination: / },
    { name: 'shutdown timeoutMs 0', input: withPool({}, { shutdown: { timeoutMs: 0 } }), problem: /^shutdown\.timeoutMs: / },
    { name: 'server maxHeapUsedBytes -1', input: withPool({}, { server: { maxHeapUsedBytes: -1 } }), problem: /^server\.maxHeapUsedBytes: / },
    { name: 'route maxBodyBytes -1', input: { ...minimal(), routes: [{ path: '/', pool: 'payment', maxBodyBytes: -1 }] }, problem: /^routes\[0\]\.maxBodyBytes: / },
    { name: 'target URL with a query', input: withPool({ targets: ['http://a:1/?x=1'] }), problem: /^pools\.payment\.targets\[0\]: / },
    { name: 'reads with no methods', input: twoPools({ reads: { pool: 'other', methods: [] } }), problem: /^routes\[0\]\.reads\.methods: / },
    { name: 'reads maxLagMs 0', input: twoPools({ reads: { pool: 'other', maxLagMs: 0 } }, { healthCheck: {} }), problem: /^routes\[0\]\.reads\.maxLagMs: / },
    { name: 'canary force value empty', input: twoPools({ canary: { pool: 'other', weight: 1, force: { header: 'x-canary', values: [''] } } }), problem: /^routes\[0\]\.canary\.force\.values\[0\]: / },
    { name: 'canary rollback minRequests 0', input: twoPools({ canary: { pool: 'other', weight: 1, rollback: { minRequests: 0 } } }), problem: /^routes\[0\]\.canary\.rollback\.minRequests: / },
    { name: 'mirror maxConcurrent 0', input: twoPools({ mirror: { pool: 'other', maxConcurrent: 0 } }), problem: /^routes\[0\]\.mirror\.maxConcurrent: / },
  ]
  for (const c of cases) {
    const problems = problemsOf(c.input)
    const found = problems.some((p) => typeof c.problem === 'string' ? p === c.problem : c.problem.test(p))
    t.ok(found, `${c.name}: ${String(c.problem)} in ${JSON.stringify(problems)}`)
  }
})

t.test('identical routes are refused, whatever their spelling', async (t) => {
  const cases: { name: string; routes: Record<string, unknown>[]; duplicate: boolean }[] = [
    { name: 'same path', routes: [{ path: '/api' }, { path: '/api' }], duplicate: true },
    { name: 'trailing slash variant', routes: [{ path: '/api' }, { path: '/api/' }], duplicate: true },
    { name: 'several trailing slashes', routes: [{ path: '/api/' }, { path: '/api///' }], duplicate: true },
    { name: 'root spelled //', routes: [{ path: '/' }, { path: '//' }], duplicate: true },
    { name: 'host differs only in case', routes: [{ path: '/a', host: 'X.com' }, { path: '/a', host: 'x.com' }], duplicate: true },
    { name: 'same methods in another order', routes: [{ path: '/a', methods: ['GET', 'POST'] }, { path: '/a', methods: ['POST', 'GET'] }], duplicate: true },
    { name: 'different host', routes: [{ path: '/a', host: 'x.com' }, { path: '/a' }], duplicate: false },
    { name: 'different methods', routes: [{ path: '/a', methods: ['GET'] }, { path: '/a' }], duplicate: false },
    { name: 'different paths', routes: [{ path: '/a' }, { path: '/a/b' }], duplicate: false },
    { name: 'stripPrefix does not distinguish', routes: [{ path: '/a' }, { path: '/a', stripPrefix: true }], duplicate: true },
  ]
  for (const c of cases) {
    const problems = problemsOf({ pools: { p: { targets: ['http://a:1'] } }, routes: c.routes.map((r) => ({ pool: 'p', ...r })) })
    const dup = problems.filter((p) => p.startsWith('routes[1]: '))
    t.equal(dup.length, c.duplicate ? 1 : 0, `${c.name}: ${JSON.stringify(problems)}`)
  }
})

t.test('every problem is reported at once', async (t) => {
  const problems = problemsOf({
    server: { port: -1 },
    pools: {
      payment: {
        targets: ['http://127.0.0.1:3001', { url: 'ftp://x' }, { url: 'http://127.0.0.1:3001', weight: 0 }],
        balancer: { type: 'hash', key: 'nope' },
        colour: 'blue',
      },
      standby: { targets: [{ url: 'http://b:1', backup: true }] },
    },
    routes: [{ path: '/p', pool: 'payment' }, { path: '/p/', pool: 'payment' }, { path: '/q', pool: 'ghost' }],
  })
  const expected: RegExp[] = [
    /^server\.port: /,
    /^pools\.payment\.targets\[1\]\.url: must use http:\/\/ or https:\/\/ \(not ftp:\/\/\)$/,
    /^pools\.payment\.targets\[2\]\.weight: /,
    /^pools\.payment\.targets\[2\]\.url: /, // duplicates targets[0]
    /^pools\.payment\.balancer\.key: /,
    /^pools\.payment: unknown field 'colour'$/,
    /^pools\.standby\.targets: /,
    /^routes\[1\]: /,
    /^routes\[2\]\.pool: /,
  ]
  for (const re of expected) t.ok(problems.some((p) => re.test(p)), `${re} in ${JSON.stringify(problems)}`)
  t.equal(problems.length, expected.length, 'nothing else, nothing twice')
})

t.test('relations are checked against the defaulted config', async (t) => {
  // Defaults: healthCheck.intervalMs 2000 / timeoutMs 1000; retry.backoff baseMs 25 / maxMs 250.
  // A value that contradicts a default is as wrong as one that contradicts a given value.
  t.ok(problemsOf(withPool({ healthCheck: { timeoutMs: 5000 } })).some((p) => p.startsWith('pools.payment.healthCheck.timeoutMs: ')),
    'timeoutMs 5000 > default intervalMs 2000')
  t.ok(problemsOf(withPool({ healthCheck: { intervalMs: 500 } })).some((p) => p.startsWith('pools.payment.healthCheck.timeoutMs: ')),
    'intervalMs 500 < default timeoutMs 1000')
  t.ok(problemsOf(withPool({ retry: { backoff: { baseMs: 500 } } })).some((p) => p.startsWith('pools.payment.retry.backoff.maxMs: ')),
    'baseMs 500 > default maxMs 250')
  t.ok(problemsOf(withPool({ retry: { backoff: { maxMs: 10 } } })).some((p) => p.startsWith('pools.payment.retry.backoff.maxMs: ')),
    'maxMs 10 < default baseMs 25')
})

t.test('valid edge values are accepted', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['fractional weight', withPool({ targets: [{ url: 'http://a:1', weight: 0.5 }] })],
    ['https target with trailing slash', withPool({ targets: ['https://a.example/'] })],
    ['IPv6 target', withPool({ targets: ['http://[::1]:3001'] })],
    ['a backup next to a primary', withPool({ targets: ['http://a:1', { url: 'http://b:1', backup: true }] })],
    ['hash on ip', withPool({ balancer: { type: 'hash', key: 'ip' } })],
    ['hash on header', withPool({ balancer: { type: 'hash', key: 'header:X-User-Id' } })],
    ['hash on cookie', withPool({ balancer: { type: 'hash', key: 'cookie:session_id' } })],
    ['timeout equal to interval', withPool({ healthCheck: { intervalMs: 1000, timeoutMs: 1000 } })],
    ['backoff max equal to base', withPool({ retry: { backoff: { baseMs: 100, maxMs: 100 } } })],
    ['port 0', { ...minimal(), server: { port: 0 } }],
    ['port 65535', { ...minimal(), server: { port: 65535 } }],
    ['tunnelIdleMs 0 (never)', withPool({ timeouts: { tunnelIdleMs: 0 } })],
    ['statuses 100 and 599', withPool({ failureStatuses: [100, 599] })],
    ['jitter 1', withPool({ healthCheck: { jitter: 1 } })],
    ['retry attempts 10', withPool({ retry: { attempts: 10 } })],
    ['maxResponseHeaderBytes 1 KiB', withPool({ maxResponseHeaderBytes: 1024 })],
    ['maxResponseHeaderBytes 1 MiB', withPool({ maxResponseHeaderBytes: 1024 * 1024 })],
    ['backlog 1, maxHeaderBytes 1 KiB, maxUrlBytes 256', withPool({}, { server: { backlog: 1, maxHeaderBytes: 1024, maxUrlBytes: 256 } })],
    ['a 16-character admin token and secret', withPool({}, { admin: { token: 'x'.repeat(16) }, secret: 'y'.repeat(16) })],
    ["log level 'silent'", withPool({}, { log: { level: 'silent' } })],
    ['the millisecond fields where 0 is off, at 0', withPool({}, { server: { requestTimeoutMs: 0, maxEventLoopDelayMs: 0 }, shutdown: { delayMs: 0 } })],
    ['retry on a status', withPool({ retry: { retryOn: [429, 'reset'] } })],
    ["a route path with ';' and percent-encoding", { ...minimal(), routes: [{ path: '/api;v=1/caf%C3%A9', pool: 'payment' }] }],
  ]
  for (const [name, input] of cases) t.strictSame(problemsOf(input), [], name)
})

t.test('the source is named in the message', async (t) => {
  const err = t.throws(() => validateConfig({}, '/etc/switchyard.ts')) as Error
  t.ok(err.message.includes('/etc/switchyard.ts'))
})

// A DNS-discovered name is a target like a fixed one: a pool needs one primary among all of them, so a discovered
// primary beside backup-only fixed targets is a valid pool, and a pool whose discovered names are all backups too
// (nothing would ever take traffic before a failover) is refused at pools.<name>.targets.
t.test('the one-primary rule counts DNS-discovered targets', async (t) => {
  const discovered = (backup: boolean): Record<string, unknown> => ({ dns: 'svc.example', port: 80, backup })
  t.strictSame(problemsOf(withPool({ targets: [{ url: 'http://a:1', backup: true }, discovered(false)] })), [], 'a discovered primary')
  const problems = problemsOf(withPool({ targets: [{ url: 'http://a:1', backup: true }, discovered(true)] }))
  t.ok(problems.some((p) => p.startsWith('pools.payment.targets: ')), `all backups: ${JSON.stringify(problems)}`)
  t.ok(problemsOf(withPool({ targets: [discovered(true)] })).some((p) => p.startsWith('pools.payment.targets: ')), 'only a discovered backup')
})

// A pool with no targets at all has one problem, that it has none: not also "all are backup: true", which would send
// the operator looking for backup flags that are not there.
t.test('an empty pool is reported once, as having no targets', async (t) => {
  for (const targets of [[], undefined]) {
    const problems = problemsOf(withPool({ targets }))
    t.equal(problems.filter((p) => p.startsWith('pools.payment.targets: ')).length, 1, `targets ${JSON.stringify(targets)}: ${JSON.stringify(problems)}`)
  }
})

// An unknown top-level field is reported at its own path, one problem per field, as every other problem is: the
// path is what an editor or a CI check points at, and two misspelt sections are two things to fix.
t.test('each unknown top-level field is its own problem at its own path', async (t) => {
  t.strictSame(problemPaths({ ...minimal(), extra: true }), ['extra'])
  t.strictSame(problemPaths({ ...minimal(), sever: { port: 1 }, logs: {} }).sort(), ['logs', 'sever'])
})
