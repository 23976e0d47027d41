// A split read that no replica answered falls back to the primary; a primary already at connections.maxRequests
// refuses it as an open breaker or no available target of the primary's does: the answer is the primary's, 503
// pool_busy with Retry-After, not the replica's failure, and the primary's count of requests in flight is not
// exceeded (src/proxy/forward.ts #fallBack). Both pools' counts come back to 0 afterwards. As every pool_busy refusal
// since review r43j, its connection closes after the whole answer (#refuseBusy): a read with no body, and a read whose
// body was read whole before the replicas were tried (ex.req.complete: nothing left to drop); kept alive, a client of
// a split route with a stuck primary held a listener slot through its keep-alive time (r43m: BA3, BA4).
import { request } from 'node:http'
import t, { type Test } from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { type ErrorBody, httpRequest } from '../proxy/http.ts'

/** A split route whose primary (maxRequests 1) is held full by a hanging write (PUT: not among the reads). */
async function fullPrimary (t: Test) {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    pools: {
      p: { targets: [primary.url], connections: { maxRequests: 1 }, timeouts: { requestMs: 3000 }, retry: { attempts: 1 } },
      r: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false } },
    },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const active = (pool: string): number => gw.gateway.pools().get(pool)!.budget.active
  primary.mode = 'hang'
  const write = request(`${gw.url}/write`, { method: 'PUT', agent: false, headers: { 'content-length': '2' } })
  write.on('error', () => { /* destroyed */ })
  t.teardown(() => { write.destroy() })
  write.end('hi')
  await waitFor(() => active('p') === 1 && primary.hits === 1)
  return { primary, replica, gw, active, write }
}

t.test('a fallback read to a full primary is 503 pool_busy, the primary not sent it', async (t) => {
  const { primary, replica, gw, active, write } = await fullPrimary(t)
  replica.failCount = 1
  const read = await httpRequest(`${gw.url}/read`, { headers: { 'x-request-id': 'fell-back' } })
  t.equal(read.status, 503)
  t.equal(read.json<ErrorBody>().error, 'pool_busy', 'the primary\'s refusal, not the replica\'s 503')
  t.equal(read.headers['retry-after'], '1')
  t.equal(primary.hits, 1, 'the primary was not sent the read')
  t.equal(replica.hits, 1)
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'fell-back'))
  const line = gw.accessLogs().find((l) => l.requestId === 'fell-back')!
  t.equal(line.pool, 'p', 'logged on the primary pool')
  t.equal(line.error, 'pool_busy')
  t.equal(active('p'), 1, 'the primary still holds just the write')
  t.equal(active('r'), 0)

  write.destroy()
  await waitFor(() => active('p') === 0)
  primary.mode = 'answer'
  replica.failCount = 1
  const served = await httpRequest(`${gw.url}/read-again`)
  t.equal(served.status, 200)
  t.equal(served.echo().name, 'primary', 'with room, the primary serves the fallback')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(active('p'), 0)
  t.equal(active('r'), 0)
})

const cases: Array<[string, string]> = [
  ['a bodiless read', 'GET /read HTTP/1.1\r\nHost: h\r\n\r\n'],
  ['a read whose body was read whole', 'POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi'],
]

for (const [label, bytes] of cases) {
  t.test(`${label} that falls back to a full primary: 503 pool_busy, then its connection closed`, async (t) => {
    const { primary, replica, gw, active } = await fullPrimary(t)
    replica.failCount = 1
    const c = rawConnection(t, Number(new URL(gw.url).port))
    await c.connected
    c.socket.write(bytes)
    await Promise.race([c.closed, new Promise((resolve) => setTimeout(resolve, 1500))])
    t.ok(c.isClosed(), 'the gateway closed the connection after the refusal')
    t.equal(c.error(), undefined, 'no reset')
    const got = c.received()
    const head = /^HTTP\/1\.1 503 [^]*?\r\n\r\n/.exec(got)?.[0] ?? ''
    t.match(head, /\r\nconnection: close\r\n/i, 'the refusal says so')
    t.match(head, /\r\nretry-after: 1\r\n/i)
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1])
    t.equal(got.length - head.length, length, 'the whole answer')
    t.match(got.slice(head.length), /"error":"pool_busy"/)
    t.equal(replica.hits, 1, 'the replica was tried')
    t.equal(primary.hits, 1, 'the primary was not sent the read')
    t.equal(active('p'), 1, 'the primary still holds just the write')
    t.equal(active('r'), 0)
  })
}
