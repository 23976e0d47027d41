// A split read whose body streamed (over retry.maxBufferBytes: not held, so it cannot be sent again) is not sent
// on to the primary when its replica resets after taking the body: the body is gone, and the primary would get a
// truncated (here empty) request as if it were whole. The client gets the replica's failure, 502
// upstream_unreachable; the primary sees nothing. Pins src/proxy/forward.ts #fallBack:
// `if (fallback === undefined || ex.clientGone || (last?.responded ?? false) || !ex.replayable) return false`.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from '../proxy/http.ts'

t.test('a streamed read the replica reset is not sent to the primary', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.mode = 'reset-before-response' // reads the whole body, then resets
  const gw = await startGateway({
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [replica.url], retry: { attempts: 1, maxBufferBytes: 16 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())

  const body = 'a streamed read body, longer than sixteen bytes'
  const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body })
  t.equal(res.status, 502)
  t.equal(res.json<ErrorBody>().error, 'upstream_unreachable')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(replica.hits, 1, 'the replica had the read')
  t.equal(primary.hits, 0, 'the primary never had it')
})
