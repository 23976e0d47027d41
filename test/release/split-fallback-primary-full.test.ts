// A split read that no replica answered falls back to the primary; a primary already at connections.maxRequests
// refuses it as an open breaker or no available target of the primary's does: the answer is the primary's, 503
// pool_busy with Retry-After, not the replica's failure, and the primary's count of requests in flight is not
// exceeded (src/proxy/forward.ts #fallBack). Both pools' counts come back to 0 afterwards.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { type ErrorBody, httpRequest } from '../proxy/http.ts'

t.test('a fallback read to a full primary is 503 pool_busy, the primary not sent it', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    pools: {
      p: { targets: [primary.url], connections: { maxRequests: 1 }, timeouts: { requestMs: 3000 }, retry: { attempts: 1 } },
      r: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false } },
    },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const active = (pool: string): number => gw.gateway.pools().get(pool)!.budget.active

  // a write holds the primary's only place
  primary.mode = 'hang'
  const write = request(`${gw.url}/write`, { method: 'POST', agent: false, headers: { 'content-length': '2' } })
  write.on('error', () => { /* destroyed */ })
  t.teardown(() => { write.destroy() })
  write.end('hi')
  await waitFor(() => active('p') === 1 && primary.hits === 1)

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
