// 503 pool_busy is the gateway's own limit (connections.maxRequests), not a version's failure: a split read whose
// replica pool is full goes to the primary, as one with no replica available does, and a canary pool at its bound is
// not rolled back for the requests it refused. Before (review r43i), the read got 503 pool_busy with a healthy primary
// idle, and a canary at weight 100 that answered every request it took, only slowly, was rolled back by a burst.
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

/** A split route whose replica pool (maxRequests 1) is full: its one read hangs at the replica. */
async function fullReplicaPool (t: Test) {
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
  return { primary, replica, gw, active }
}

t.test('a split read whose replica pool is full is served by the primary', async (t) => {
  const { primary, replica, gw, active } = await fullReplicaPool(t)
  const read = await httpRequest(`${gw.url}/second`)
  t.equal(read.status, 200, 'served')
  t.equal(primary.hits, 1, 'by the primary')
  t.equal(replica.hits, 1, 'the replica pool took nothing more')
  await waitFor(() => active('p') === 0)
  t.equal(active('r'), 1, 'the replica pool still counts only the read it holds')
})

// AZ17 (a mutation test, r43l): a read with a body (a POST named in reads.methods) is refused there, before its body
// is read or asked for, as the bound refuses any request: it is not sent to the primary with its body unread
t.test('a split read with a body, its replica pool full: 503 pool_busy, the primary not asked', async (t) => {
  const { primary, gw } = await fullReplicaPool(t)
  const read = await httpRequest(`${gw.url}/search`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': '5' }, body: 'query' })
  t.equal(read.status, 503)
  t.equal(read.json<ErrorBody>().error, 'pool_busy')
  t.equal(primary.hits, 0, 'the primary took nothing')
})

t.test('a canary pool at its bound is not rolled back for what it refused', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  t.teardown(() => Promise.all([stable.close(), canary.close()]))
  const gw = await startGateway({
    pools: {
      s: { targets: [stable.url] },
      c: { targets: [canary.url], connections: { maxRequests: 2 }, retry: { attempts: 1 } },
    },
    routes: [{ name: 'r', path: '/', pool: 's', canary: { pool: 'c', weight: 100, rollback: { maxErrorRatePercent: 5, minRequests: 10, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  canary.delayMs = 400
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => httpRequest(`${gw.url}/x${i}`)))
  const refused = answers.filter((a) => a.status === 503)
  t.equal(refused.length, 10, 'the burst past the bound was refused')
  t.ok(refused.every((a) => a.json<ErrorBody>().error === 'pool_busy'), 'as pool_busy')
  t.equal(answers.filter((a) => a.status === 200).length, 2, 'the canary answered what it took')
  await waitFor(() => gw.gateway.pools().get('c')!.budget.active === 0)
  const canaryOf = gw.gateway.status().routes.find((r) => r.name === 'r')!.canary!
  t.strictSame({ weight: canaryOf.weight, source: canaryOf.weightSource }, { weight: 100, source: 'file' }, 'not rolled back')
})
