// A read of a split route whose replica pool's circuit breaker is open is sent to the primary at admission, and the
// route is reported falling back at once (/status, one event), as when no replica target is available: an open
// breaker is the gateway itself saying no replica may be asked. Were the breaker not consulted at admission, the read
// would be sent to the replicas, refused by their breaker and only then fall back, and the fallback would show in
// /status only after DEFAULT_FALLBACK_STREAK such reads: the operator would see "reads on the replicas" while every
// read went to the primary.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test("replicas' breaker open: the first read goes to the primary and the route falls back at once", async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 60_000 } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback
  const splitEvents = (): string[] => gw.gateway.events.list().filter((e) => e.kind === 'split').map((e) => e.message)

  const first = await httpRequest(`${gw.url}/m/1`)
  t.equal(first.status, 200)
  t.equal(first.echo().name, 'replica', 'a replica serves while its breaker is closed')
  t.equal(fallback(), false)

  gw.gateway.pools().get('replicas')!.breaker.force('open')
  const read = await httpRequest(`${gw.url}/m/1`)
  t.equal(read.status, 200)
  t.equal(read.echo().name, 'primary', 'the primary served the read')
  t.equal(fallback(), true, '/status: falling back after one read')
  t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary'], 'said once')
  t.equal(replica.requests.length, 1, 'the replica was not asked again')
})
