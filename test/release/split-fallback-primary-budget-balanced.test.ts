// A split read that fell back to the primary is one of the primary pool's requests while it runs (its retry budget,
// "percent of active requests", counts it) and none once it ends: the pool's count of requests in flight is back to
// 0, not -1. (An undercount shrinks the pool's retry budget, and a pool whose count never returns to 0 is never
// idle, so a reload that retires it waits out its 2 x requestMs + 1 s deadline: src/upstream/registry.ts retire.)
// Pins src/proxy/forward.ts #fallBack: `primary.budget.requestStarted()` (matched by #afterPool's requestFinished()).
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('after fallback reads, the primary pool has no request in flight (count 0)', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    pools: { p: { targets: [primary.url] }, r: { targets: [replica.url], retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())

  replica.failCount = 2
  for (const path of ['/a', '/b']) {
    const read = await httpRequest(`${gw.url}${path}`)
    t.equal(read.status, 200)
    t.equal(read.echo().name, 'primary', 'the replica failed it, the primary served it')
  }
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(gw.gateway.pools().get('p')!.budget.active, 0, 'the primary pool: nothing in flight')
  t.equal(gw.gateway.pools().get('r')!.budget.active, 0, 'the replica pool: nothing in flight')
})
