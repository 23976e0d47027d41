// The request flow of proxy/forward.ts (ProxyHandler): the answers the proxy gives itself, with their codes,
// statuses and Retry-After, decided on a manual clock; an unexpected error inside the flow is a 500, never a crash.
// A small real gateway and upstream on 127.0.0.1, port 0.
import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { ErrorBody } from '../proxy/http.ts'

const REQUEST_MS = 30_000

interface Fixture { gw: TestGateway; up: TestUpstream; clock: ManualClock; runtime: PoolRuntime }

async function setup (t: Test, pool: Record<string, unknown> = {}): Promise<Fixture> {
  const up = await TestUpstream.start({ name: 'u' })
  const clock = new ManualClock()
  const config: GatewayConfig = {
    pools: { p: { targets: [up.url], timeouts: { requestMs: REQUEST_MS }, ...pool } },
    routes: [{ path: '/api', pool: 'p' }],
  }
  const gw = await startGateway(config, { clock, random: () => 0 })
  t.teardown(async () => { await up.close(); await gw.close() })
  return { gw, up, clock, runtime: gw.gateway.pools().get('p')! }
}

interface Answer { status: number; headers: IncomingHttpHeaders; error: string | undefined; requestId: string | undefined }

/** A GET with the path sent exactly as given (a URL string would be normalised by the client first). */
function get (gw: TestGateway, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: new URL(gw.url).port, path, headers, agent: false }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.once('end', () => {
        const body = res.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) as Partial<ErrorBody> : {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, error: body.error, requestId: body.requestId })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

/** The access-log line of the request with this id. */
async function accessLine (gw: TestGateway, requestId: string) {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

t.test('the answers the proxy gives itself: code, status, Retry-After, request id, access log', async (t) => {
  interface Case { name: string; path: string; prepare?: (f: Fixture) => void; status: number; error: string; retryAfter?: string }
  const cases: Case[] = [
    { name: 'no route for the path', path: '/other', status: 404, error: 'no_route' },
    { name: 'an encoded slash in the path', path: '/api/a%2fb', status: 400, error: 'bad_path' },
    { name: 'an encoded dot segment', path: '/api/%2e%2e/admin', status: 400, error: 'bad_path' },
    {
      name: 'every target unavailable',
      path: '/api/x',
      prepare: ({ runtime }) => { for (const x of runtime.pool.targets) runtime.pool.setStatus(x, { disabled: true }) },
      status: 503,
      error: 'no_available_target',
      retryAfter: '1',
    },
    { name: 'the breaker open', path: '/api/x', prepare: ({ runtime }) => runtime.breaker.force('open'), status: 503, error: 'circuit_open', retryAfter: '10' },
  ]
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const f = await setup(t)
      c.prepare?.(f)
      const id = `case-${cases.indexOf(c)}`
      const res = await get(f.gw, c.path, { 'x-request-id': id })
      t.equal(res.status, c.status)
      t.equal(res.error, c.error)
      t.equal(res.requestId, id)
      t.equal(res.headers['x-request-id'], id)
      t.equal(res.headers['retry-after'], c.retryAfter)
      t.equal(f.up.hits, 0, 'nothing reached the upstream')
      const line = await accessLine(f.gw, id)
      t.equal(line.status, c.status)
      t.equal(line.error, c.error)
    })
  }
})

t.test("circuit_open's Retry-After counts down on the gateway clock", async (t) => {
  const f = await setup(t, { circuitBreaker: { resetTimeoutMs: 10_000 } })
  f.runtime.breaker.force('open')
  const retryAfter = async (): Promise<string | undefined> => (await get(f.gw, '/api/x')).headers['retry-after']
  t.equal(await retryAfter(), '10')
  f.clock.set(f.clock.now() + 4_500)
  t.equal(await retryAfter(), '6', 'whole seconds, rounded up')
  f.clock.set(f.clock.now() + 5_400)
  t.equal(await retryAfter(), '1', 'never less than 1 while open')
  f.clock.set(f.clock.now() + 60_000)
  t.equal(await retryAfter(), '1')
  t.equal(f.up.hits, 0)
})

t.test('a buffered body that has not all arrived by the deadline is answered 408', async (t) => {
  const f = await setup(t)
  let response: IncomingMessage | undefined
  const req = request(f.gw.url + '/api/put', { method: 'PUT', agent: false, headers: { 'content-length': '10', 'x-request-id': 'slow-body' } })
  req.on('error', () => { /* the gateway closes the connection after its 408 */ })
  req.once('response', (res) => { response = res; res.resume() })
  t.teardown(() => { req.destroy() })
  req.write('1234') // 4 of 10 bytes, then silence
  // the body is small enough to be buffered for a replay: the only timer is its deadline
  await waitFor(() => f.clock.pendingTimers === 1)
  t.same(f.clock.dueIn(), [REQUEST_MS])
  f.clock.advance(REQUEST_MS - 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.same(f.clock.dueIn(), [1], 'the deadline has not fired 1 ms before it')
  t.equal(response, undefined, 'no answer yet')
  f.clock.advance(1)
  await waitFor(() => response !== undefined)
  t.equal(response!.statusCode, 408)
  t.equal(response!.headers.connection, 'close', 'the unread rest of the body would poison the connection')
  t.equal((await accessLine(f.gw, 'slow-body')).error, 'request_timeout')
  t.equal(f.up.hits, 0, 'nothing was sent upstream')
  t.equal(f.runtime.budget.active, 0, 'the request no longer counts as active')
})

t.test('an unexpected error inside the flow is a 500 internal_error, logged, and the gateway carries on', async (t) => {
  const cases: [name: string, breakIt: (runtime: PoolRuntime) => () => void][] = [
    ['while admitting the request', (runtime) => {
      const original = runtime.budget.tryStartRequest
      runtime.budget.tryStartRequest = () => { throw new Error('boom') }
      return () => { runtime.budget.tryStartRequest = original }
    }],
    ['while choosing a target', (runtime) => {
      const original = runtime.pool.pick
      runtime.pool.pick = () => { throw new Error('boom') }
      return () => { runtime.pool.pick = original }
    }],
  ]
  for (const [name, breakIt] of cases) {
    t.test(name, async (t) => {
      const f = await setup(t)
      const repair = breakIt(f.runtime)
      const res = await get(f.gw, '/api/x', { 'x-request-id': 'broken' })
      t.equal(res.status, 500)
      t.equal(res.error, 'internal_error')
      const logged = f.gw.logs.filter((l) => l.level === 50 && l.requestId === 'broken')
      t.equal(logged.length, 1, 'one error record')
      t.ok(logged[0]?.err, 'with the error')
      t.equal((await accessLine(f.gw, 'broken')).error, 'internal_error')
      t.equal(f.runtime.budget.active, 0, 'the request no longer counts as active')
      repair()
      const after = await get(f.gw, '/api/x')
      t.equal(after.status, 200, 'the next request is served')
      t.equal(f.runtime.breaker.state, 'closed', 'a gateway bug is not held against the upstream')
    })
  }
})
