// A split read that falls back to a primary already at connections.maxRequests is refused 503 pool_busy, and, as every
// pool_busy refusal since review r43j, its connection closes after the whole answer (src/proxy/forward.ts #refuseBusy,
// reached from #fallBack): a read with no body, and a read whose body was read whole before the replicas were tried
// (ex.req.complete: nothing of it left to drop). Kept alive, a client of a split route with a stuck primary held a
// listener slot through its keep-alive time, as pool-busy-closes-connection.test.ts pins for a route's own pool.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const cases: Array<[string, string]> = [
  ['a bodiless read', 'GET /read HTTP/1.1\r\nHost: h\r\nX-Request-Id: fell-back\r\n\r\n'],
  ['a read whose body was read whole', 'POST /read HTTP/1.1\r\nHost: h\r\nX-Request-Id: fell-back\r\nContent-Length: 2\r\n\r\nhi'],
]

for (const [label, bytes] of cases) {
  t.test(`${label} that falls back to a full primary: 503 pool_busy, then its connection closed`, async (t) => {
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

    // a write holds the primary's only place (PUT: not among the reads)
    primary.mode = 'hang'
    const write = request(`${gw.url}/write`, { method: 'PUT', agent: false, headers: { 'content-length': '2' } })
    write.on('error', () => { /* destroyed */ })
    t.teardown(() => { write.destroy() })
    write.end('hi')
    await waitFor(() => active('p') === 1 && primary.hits === 1)

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
