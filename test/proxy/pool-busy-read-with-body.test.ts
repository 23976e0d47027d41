// A split read whose replica pool is full (connections.maxRequests) goes to the primary only when it has no body: a
// read with a body (a POST named in reads.methods) is refused there, before its body is read or asked for, as the
// pool's bound refuses any request (503 pool_busy). It is not sent to the primary with its body unread.
import { request, type ClientRequest } from 'node:http'
import t, { type Test } from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from './http.ts'

function held (t: Test, url: string): ClientRequest {
  const req = request(url, { agent: false })
  req.on('error', () => {})
  t.teardown(() => { req.destroy() })
  req.end()
  return req
}

t.test('a split read with a body, its replica pool full: 503 pool_busy, the primary not asked', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    pools: {
      p: { targets: [primary.url], retry: { attempts: 1 } },
      r: { targets: [replica.url], connections: { maxRequests: 1 }, retry: { attempts: 1 }, outlier: { enabled: false } },
    },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const active = (pool: string): number => gw.gateway.pools().get(pool)!.budget.active
  replica.mode = 'hang'
  held(t, `${gw.url}/first`)
  await waitFor(() => active('r') === 1 && replica.hits === 1)
  const read = await httpRequest(`${gw.url}/search`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': '5' }, body: 'query' })
  t.equal(read.status, 503)
  t.equal(read.json<ErrorBody>().error, 'pool_busy')
  t.equal(primary.hits, 0, 'the primary took nothing')
  // a read without a body still goes to the primary
  t.equal((await httpRequest(`${gw.url}/second`)).status, 200)
  t.equal(primary.hits, 1)
})
