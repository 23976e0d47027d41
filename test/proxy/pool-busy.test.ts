// connections.maxRequests bounds a pool's requests in flight (Envoy's max_requests per cluster): past it a request
// is answered 503 pool_busy with Retry-After at once, before any attempt and before its body is read, so a pool of
// hanging targets cannot park requests (and hold sockets) without end while other pools keep serving. Before, only
// the per-target limits bounded a pool: N hanging targets parked N × 2048 requests and took the process's file
// descriptors from every pool. Every way a request ends gives its place back.
import { request, type ClientRequest } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { httpRequest, type ErrorBody, type HttpResponse } from './http.ts'
import { gateway, upstream, type Tap } from './setup.ts'

const REQUEST_MS = 1500

async function setup (t: Tap, maxRequests: number, pool: Record<string, unknown> = {}): Promise<{ gw: TestGateway; a: TestUpstream[]; b: TestUpstream; active: () => number }> {
  const a = [await upstream(t, 'a1'), await upstream(t, 'a2')]
  const b = await upstream(t, 'b')
  for (const u of a) u.mode = 'hang'
  const config: GatewayConfig = {
    pools: {
      a: { targets: a.map((u) => u.url), connections: { maxRequests }, timeouts: { requestMs: REQUEST_MS }, retry: { attempts: 1 }, ...pool },
      b: { targets: [b.url], connections: { maxRequests } },
    },
    routes: [{ name: 'a', path: '/a', pool: 'a', maxBodyBytes: 10 }, { name: 'b', path: '/b', pool: 'b' }],
  }
  const gw = await gateway(t, config, { defaultMetrics: false })
  return { gw, a, b, active: () => gw.gateway.pools().get('a')!.budget.active }
}

const hits = (ups: readonly TestUpstream[]): number => ups.reduce((n, u) => n + u.hits, 0)

/** A request kept open by its client until destroyed. */
function open (t: Tap, url: string): ClientRequest {
  const req = request(url, { agent: false })
  req.on('error', () => { /* destroyed */ })
  t.teardown(() => { req.destroy() })
  req.end()
  return req
}

t.test('past maxRequests a pool refuses at once with 503 pool_busy while another pool serves; the parked ones time out, then it serves again', async (t) => {
  const N = 4
  const { gw, a, active } = await setup(t, N)
  const parked = Array.from({ length: N }, (_, i) => httpRequest(`${gw.url}/a/parked/${i}`))
  await waitFor(() => active() === N && hits(a) === N)

  const startedAt = performance.now()
  const refused = await Promise.all(Array.from({ length: 3 }, (_, i) => httpRequest(`${gw.url}/a/more/${i}`)))
  t.ok(performance.now() - startedAt < REQUEST_MS / 2, 'answered at once, not at the deadline')
  t.same(refused.map((r) => r.status), [503, 503, 503])
  t.same(refused.map((r) => r.json<ErrorBody>().error), ['pool_busy', 'pool_busy', 'pool_busy'])
  t.same(refused.map((r) => r.headers['retry-after']), ['1', '1', '1'])
  t.equal(hits(a), N, 'none reached a target')
  t.equal(active(), N, 'a refusal takes no place')

  for (let i = 0; i < 2 * N; i++) t.equal((await httpRequest(`${gw.url}/b/${i}`)).status, 200, 'the other pool serves')

  t.same((await Promise.all(parked)).map((r) => r.status), Array(N).fill(504), 'the parked ones time out')
  await waitFor(() => active() === 0)
  for (const u of a) u.mode = 'answer'
  const after = await Promise.all(Array.from({ length: N }, (_, i) => httpRequest(`${gw.url}/a/after/${i}`)))
  t.same(after.map((r) => r.status), Array(N).fill(200), 'a full N served again')
  await waitFor(() => active() === 0)

  await waitFor(() => gw.accessLogs().length === 4 * N + 3)
  const lines = gw.accessLogs().filter((l) => l.error === 'pool_busy')
  t.equal(lines.length, 3)
  t.same(lines.map((l) => [l.status, l.pool, l.attempts ?? 0]), Array(3).fill([503, 'a', 0]), 'no attempt')
  const runtime = gw.gateway.pools().get('a')!
  t.equal(runtime.breaker.allows(), true, 'the breaker is closed')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_request_errors_total', { route: 'a', pool: 'a', error: 'pool_busy' })], 3)
})

t.test('a client that leaves gives its place back', async (t) => {
  const { gw, a, active } = await setup(t, 2)
  const clients = [open(t, `${gw.url}/a/1`), open(t, `${gw.url}/a/2`)]
  await waitFor(() => active() === 2 && hits(a) === 2)
  t.equal((await httpRequest(`${gw.url}/a/3`)).json<ErrorBody>().error, 'pool_busy')
  for (const c of clients) c.destroy()
  await waitFor(() => active() === 0)
  for (const u of a) u.mode = 'answer'
  t.same((await Promise.all([httpRequest(`${gw.url}/a/4`), httpRequest(`${gw.url}/a/5`)])).map((r) => r.status), [200, 200])
})

t.test('a refused body, an error answer and a retried failure give their places back', async (t) => {
  const { gw, a, active } = await setup(t, 1, { retry: { attempts: 2 }, circuitBreaker: { enabled: false }, outlier: { enabled: false } })
  for (const u of a) u.mode = 'answer'
  const tooLarge = await httpRequest(`${gw.url}/a/large`, { method: 'POST', body: 'x'.repeat(100) })
  t.equal(tooLarge.status, 413)
  const chunked = await httpRequest(`${gw.url}/a/large-chunked`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'x'.repeat(100) })
  t.equal(chunked.status, 413)
  await waitFor(() => active() === 0)
  for (const u of a) u.failCount = 1
  const failed: HttpResponse = await httpRequest(`${gw.url}/a/fail`, { headers: { 'x-request-id': 'retried' } })
  t.equal(failed.status, 503, 'both attempts failed: the upstream\'s 503')
  await waitFor(() => active() === 0)
  t.equal(gw.accessLogs().find((l) => l.requestId === 'retried')?.attempts, 2, 'retried once')
  t.equal((await httpRequest(`${gw.url}/a/ok`)).status, 200)
  await waitFor(() => active() === 0)
})

t.test('a 100-continue request to a full pool hears no 100: 503 pool_busy, its body unread', async (t) => {
  const { gw, a, active } = await setup(t, 1)
  open(t, `${gw.url}/a/parked`)
  await waitFor(() => active() === 1 && hits(a) === 1)
  let continued = false
  const answer = await new Promise<{ status: number; error: string; connection: string | undefined }>((resolve, reject) => {
    const req = request(`${gw.url}/a/upload`, { method: 'POST', agent: false, headers: { expect: '100-continue', 'content-length': '5' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => resolve({ status: res.statusCode ?? 0, error: JSON.parse(Buffer.concat(chunks).toString()).error, connection: res.headers.connection }))
    })
    req.once('continue', () => { continued = true; req.end('hello') })
    req.once('error', reject)
    req.flushHeaders()
  })
  t.equal(answer.status, 503)
  t.equal(answer.error, 'pool_busy')
  t.equal(answer.connection, 'close', 'the body was never asked for')
  t.equal(continued, false, 'no 100 Continue')
  t.equal(active(), 1)
})
