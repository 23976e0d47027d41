// Property: any config made wrong (wrong types, out-of-range numbers, unknown fields, missing or unknown pools,
// bad URLs, bad route paths) is rejected by validateConfig with a ConfigError whose every problem names its
// path, never another exception; and a running gateway that is handed one by reload keeps serving.
import fc from 'fast-check'
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { ConfigError } from '../../src/errors.ts'
import { gateway, upstream } from '../proxy/setup.ts'

type Json = Record<string, unknown>

function base (): Json {
  return {
    server: { port: 8080, host: '127.0.0.1', trustedProxies: ['10.0.0.0/8'] },
    admin: { port: 9901 },
    shutdown: { delayMs: 0, timeoutMs: 1000 },
    pools: {
      p: {
        targets: ['http://127.0.0.1:9001', { url: 'http://127.0.0.1:9002', weight: 2 }],
        balancer: 'round-robin',
        timeouts: { connectMs: 1000, requestMs: 5000 },
        retry: { attempts: 3, perTryTimeoutMs: 1000 },
        circuitBreaker: { errorThresholdPercentage: 50 },
        healthCheck: { path: '/health', intervalMs: 2000, timeoutMs: 500 },
      },
    },
    routes: [{ path: '/api', pool: 'p', methods: ['GET'] }],
    log: { level: 'info' },
  }
}

type Mutation = (config: Json) => void

/**
 * Sets `value` at `path` as an own property (so '__proto__' is a key, as JSON.parse would make it). A path an
 * earlier mutation has already broken is left alone: the config is wrong already.
 */
const setAt = (path: readonly (string | number)[], value: unknown): Mutation => (config) => {
  let node: unknown = config
  for (const key of path.slice(0, -1)) node = typeof node === 'object' && node !== null ? (node as Record<string | number, unknown>)[key] : undefined
  if (typeof node !== 'object' || node === null) return
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, configurable: true, writable: true })
}

const notAnObject = fc.constantFrom<unknown>(null, true, 'text', 42, [])
const wrongForNumber = fc.oneof(fc.string(), fc.boolean(), fc.constantFrom<unknown>(null, [], {}, '1000'))
const notPositiveMs = fc.oneof(fc.integer({ max: 0 }), fc.double({ min: 0.001, max: 1e6, noInteger: true, noNaN: true }), fc.constantFrom(NaN, Infinity, -Infinity), wrongForNumber)
const notPort = fc.oneof(fc.integer({ min: 65536 }), fc.integer({ max: -1 }), fc.double({ min: 0.5, max: 65535, noInteger: true, noNaN: true }), wrongForNumber)
// fast-check counts -0 as below 0, but -0 === 0 is a valid percentage: keep only values that are really below 0.
const notPercent = fc.oneof(fc.double({ min: 100, minExcluded: true, noNaN: true }), fc.double({ max: 0, maxExcluded: true, noNaN: true }).filter((v) => v < 0), wrongForNumber)
const notUrl = fc.oneof(
  fc.constantFrom<unknown>('ftp://127.0.0.1', 'http://', 'http://a.example/path', 'http://u:p@a.example', 'http://a.example?x=1', 'not a url', '', 'javascript:alert(1)', 'http://a b', null, 8080),
  fc.string().filter((s) => !/^https?:/i.test(s.trim())),
)
const notEnum = (valid: readonly string[]) => fc.oneof(fc.string().filter((s) => !valid.includes(s)), wrongForNumber.filter((v) => typeof v !== 'string'))
const unknownKey = fc.oneof(fc.stringMatching(/^[a-z][A-Za-z0-9]{0,10}$/).map((k) => `zz${k}`), fc.constantFrom('__proto__', 'constructor', 'retryIdempotencyKey', 'shutdownGraceMs'))
const objectPaths: readonly (readonly (string | number)[])[] = [['server'], ['admin'], ['log'], ['pools', 'p'], ['pools', 'p', 'timeouts'], ['pools', 'p', 'retry'], ['pools', 'p', 'healthCheck'], ['pools', 'p', 'targets', 1], ['routes', 0]]

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // wrong types and out-of-range numbers
  fc.tuple(fc.constantFrom(['server', 'headersTimeoutMs'], ['pools', 'p', 'timeouts', 'connectMs'], ['pools', 'p', 'timeouts', 'requestMs'], ['pools', 'p', 'healthCheck', 'intervalMs'], ['pools', 'p', 'retry', 'perTryTimeoutMs'], ['shutdown', 'timeoutMs']), notPositiveMs).map(([p, v]) => setAt(p, v)),
  fc.tuple(fc.constantFrom(['server', 'port'], ['admin', 'port']), notPort).map(([p, v]) => setAt(p, v)),
  notPercent.map((v) => setAt(['pools', 'p', 'circuitBreaker', 'errorThresholdPercentage'], v)),
  fc.oneof(fc.integer({ min: 11 }), fc.integer({ max: 0 }), wrongForNumber).map((v) => setAt(['pools', 'p', 'retry', 'attempts'], v)),
  notEnum(['round-robin', 'least-connections', 'random', 'p2c']).map((v) => setAt(['pools', 'p', 'balancer'], v)),
  notEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).map((v) => setAt(['log', 'level'], v)),
  fc.tuple(fc.constantFrom(['server'], ['admin'], ['pools'], ['pools', 'p'], ['pools', 'p', 'timeouts'], ['log']), notAnObject).map(([p, v]) => setAt(p, v)),
  // bad URLs, addresses, paths, names
  notUrl.map((v) => setAt(['pools', 'p', 'targets', 0], v)),
  notUrl.map((v) => setAt(['pools', 'p', 'targets', 1, 'url'], v)),
  fc.constantFrom('10.0.0.0/33', 'not-an-ip', '::g', '300.1.1.1', '1.2.3.4/-1').map((v) => setAt(['server', 'trustedProxies', 0], v)),
  fc.oneof(fc.string().filter((s) => !s.startsWith('/')), fc.constantFrom('/a/../b', '/a//b', '/a?x', '/a#f', '/a\\b', '/./a')).map((v) => setAt(['routes', 0, 'path'], v)),
  fc.oneof(fc.array(notEnum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']), { minLength: 1, maxLength: 3 }), fc.constantFrom<unknown>([], 'GET', null)).map((v) => setAt(['routes', 0, 'methods'], v)),
  fc.string({ maxLength: 15 }).map((v) => setAt(['admin', 'token'], v)),
  fc.string({ maxLength: 15 }).map((v) => setAt(['secret'], v)),
  // unknown fields anywhere below the top level (top-level ones: their own test below)
  fc.tuple(fc.constantFrom(...objectPaths), unknownKey, fc.jsonValue()).map(([p, k, v]) => setAt([...p, k], v)),
  // missing, empty or unknown pools; missing routes and targets
  fc.constantFrom<Mutation>(
    (c) => { delete c.pools },
    (c) => { c.pools = {} },
    (c) => { c.pools = [] },
    (c) => { delete c.routes },
    (c) => { c.routes = [] },
    (c) => { c.pools = { q: { targets: ['http://127.0.0.1:9003'] } } },
    (c) => { c.pools = { p: { targets: [] } } },
    (c) => { c.pools = { p: {} } },
    (c) => { c.pools = { 'bad name!': { targets: ['http://127.0.0.1:9003'] }, ...(c.pools as Json) } },
    setAt(['routes', 0, 'canary'], { pool: 'ghost', weight: 10 }),
  ),
  fc.string().filter((s) => s !== 'p').map((name) => setAt(['routes', 0, 'pool'], name)),
)

const wrongConfig = fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
  const config = base()
  for (const m of mutations) m(config)
  return config
})

t.test('the base config is valid (so each mutation alone makes it wrong)', async (t) => {
  t.doesNotThrow(() => validateConfig(base()))
})

/** Throws unless validateConfig rejects `config` with path-precise problems only. */
function assertRejectedWithPaths (config: unknown): void {
    let thrown: unknown
    try {
      validateConfig(config)
    } catch (err) {
      thrown = err
    }
    if (!(thrown instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${thrown === undefined ? 'a valid config' : String(thrown)}`)
    if (thrown.problems.length === 0) throw new Error('a ConfigError without problems')
    for (const problem of thrown.problems) {
      if (!/^[a-zA-Z_$]/.test(problem) || !problem.includes(': ')) throw new Error(`problem without a path: ${JSON.stringify(problem)}`)
      if (/\n\s+at /.test(problem)) throw new Error(`a stack trace in a problem: ${JSON.stringify(problem)}`)
    }
}

t.test('every wrong config is a ConfigError whose problems each start with a path', async (t) => {
  fc.assert(fc.property(wrongConfig, assertRejectedWithPaths), { numRuns: 400 })
  t.pass('400 generated configs rejected with path-precise problems')
})

t.test('an unknown top-level field is reported with a path too', async (t) => {
  const withUnknown = fc.tuple(unknownKey, fc.jsonValue()).map(([key, value]) => {
    const config = base()
    setAt([key], value)(config)
    return config
  })
  t.doesNotThrow(() => fc.assert(fc.property(withUnknown, assertRejectedWithPaths), { numRuns: 50 }))
})

t.test('a running gateway keeps serving when a wrong config arrives by reload', async (t) => {
  const u = await upstream(t, 'u')
  let next: unknown = base()
  const config = { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await gateway(t, config, { defaultMetrics: false, load: async () => validateConfig(next) })
  const hash = gw.gateway.status().configHash
  await fc.assert(fc.asyncProperty(fc.oneof(wrongConfig, fc.constant('throws')), async (input) => {
    next = input
    if (input === 'throws') next = { get pools () { throw new TypeError('a config file that throws while read') } }
    const result = await gw.gateway.reload('admin')
    if (result.result !== 'error') throw new Error(`reload result ${result.result}`)
    if ((result.problems ?? []).length === 0) throw new Error('an error result without problems')
    const res = await fetch(`${gw.url}/x`)
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`served ${res.status} after a rejected reload`)
  }), { numRuns: 25 })
  t.equal(gw.gateway.status().configHash, hash, 'the running config stayed')
  t.equal(u.hits, 25, 'every request in between was served by the running config')
})
