// A POST read of a split route that falls back to the primary is retried there only under the PRIMARY pool's retry
// policy: with its retry.idempotencyKey off (the default), a POST carrying an Idempotency-Key is not replayed on a
// second primary target after a 503, whatever the replica pool allows (README: `idempotencyKey: true` retries
// POST/PATCH that carry the header). Pins src/proxy/forward.ts #fallBack:
// `ex.idempotencyKey = fallback.idempotencyKey && primary.config.retry.idempotencyKey`.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a fallen-back POST read is not retried on the primary pool whose policy ignores Idempotency-Key', async (t) => {
  const [p1, p2, replica] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'p2' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([p1.close(), p2.close(), replica.close()]))
  replica.failCount = 1 // the replica fails the read: the primary serves it
  p1.failCount = 1
  p2.failCount = 1
  const gw = await startGateway({
    pools: {
      primary: { targets: [p1.url, p2.url], retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } }, outlier: { enabled: false } },
      replicas: { targets: [replica.url], retry: { attempts: 1, idempotencyKey: true }, outlier: { enabled: false } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false, random: () => 0 })
  t.teardown(() => gw.close())

  const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body: 'q=1', headers: { 'idempotency-key': 'k-1' } })
  t.equal(res.status, 503, "the primary's 503 is the answer: no replay")
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(replica.hits, 1)
  t.equal(p1.hits + p2.hits, 1, 'one primary attempt only')
})
