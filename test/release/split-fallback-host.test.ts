// A split read that no replica answers is served by the primary pool, with the Host the primary's own
// preserveHost asks for. It used to carry the replicas' choice: two Host lines (the client's and the target's)
// when only the replicas preserved it, and the target's instead of the client's when only the primary did.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

function hostLines (upstream: TestUpstream): string[] {
  const raw = upstream.requests.at(-1)!.rawHeaders
  const hosts: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') hosts.push(raw[i + 1]!)
  return hosts
}

for (const primaryPreserves of [false, true]) {
  t.test(`primary preserveHost ${primaryPreserves}, replicas ${!primaryPreserves}`, async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    await replica.refuse() // every read falls back
    const gw = await startGateway({
      pools: {
        main: { targets: [primary.url], preserveHost: primaryPreserves },
        replicas: { targets: [replica.url], preserveHost: !primaryPreserves, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
    const expected = [primaryPreserves ? 'api.example.com' : new URL(primary.url).host]

    await httpRequest(`${gw.url}/x`, { method: 'POST', headers: { host: 'api.example.com' } })
    t.same(hostLines(primary), expected, 'a write: the primary pool\'s Host')

    const read = await httpRequest(`${gw.url}/x`, { headers: { host: 'api.example.com' } })
    t.equal(read.status, 200)
    t.equal(read.headers['x-upstream'], 'primary', 'served by the primary')
    t.same(hostLines(primary), expected, 'a read fallen back: the same Host as a write, once')
  })
}
