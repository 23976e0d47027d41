// /status and the event log show a split route falling back whenever its reads go to the primary because no replica
// answered them, not only when none was available at admission: replicas that refuse connections, with no health
// check to find it out, each read trying them first. Before, only the metric counted those; /status said
// "fallback": false and nothing was logged. A read a replica answers turns it off again; each change is one event.
import t from 'tap'
import { DEFAULT_FALLBACK_STREAK } from '../../src/release/plans.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('reads no replica answers turn the fallback on, once; a replica answer turns it off, once', async (t) => {
  const [primary, r1, r2] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'r1' }), TestUpstream.start({ name: 'r2' })])
  t.teardown(() => Promise.all([primary.close(), r1.close(), r2.close()]))
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [r1.url, r2.url], retry: { attempts: 2 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback
  const splitEvents = (): string[] => gw.gateway.events.list().filter((e) => e.kind === 'split').map((e) => e.message)
  const read = async (): Promise<string> => {
    const res = await httpRequest(`${gw.url}/m/1`)
    t.equal(res.status, 200)
    return res.echo().name
  }
  t.equal(await read() === 'primary', false, 'a replica serves')
  t.equal(fallback(), false)
  await Promise.all([r1.refuse(), r2.refuse()])
  for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) t.equal(await read(), 'primary', `read ${i}: both replicas refused, the primary served`)
  t.equal(fallback(), true, '/status: falling back')
  t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary'], 'said once')
  await r1.restore()
  const served = new Set<string>()
  for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) served.add(await read())
  t.ok(served.has('r1'), 'r1 serves again')
  t.equal(fallback(), false, '/status: no longer falling back')
  t.strictSame(splitEvents(), ['no replica available or none answered: reads go to the primary', 'a replica answered: reads go to the replicas'], 'the return said once too')
})
