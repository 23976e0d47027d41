// A split route with a canary: a read no replica answers falls back to where the route's other requests go by
// the canary decision. At weight 100 (a blue-green cut-over) that is the new pool; it used to be the route's old
// pool whenever the replicas failed during the attempt rather than being found out at admission.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('reads fall back to the canary at weight 100', async (t) => {
  const [blue, green, replica] = await Promise.all(['blue', 'green', 'replica'].map((name) => TestUpstream.start({ name })))
  const gw = await startGateway({
    pools: {
      blue: { targets: [blue!.url] },
      green: { targets: [green!.url] },
      replicas: { targets: [replica!.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ name: 'api', path: '/', pool: 'blue', canary: { pool: 'green', weight: 100 }, reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await Promise.all([blue, green, replica].map((u) => u!.close())) })
  const servedBy = async (method: string): Promise<string | null> => {
    const res = await fetch(`${gw.url}/x`, { method })
    await res.arrayBuffer()
    t.equal(res.status, 200, `${method} answered`)
    return res.headers.get('x-upstream')
  }
  t.equal(await servedBy('PUT'), 'green', 'a write goes to the canary')
  t.equal(await servedBy('GET'), 'replica', 'a read to the replicas')
  replica!.failCount = 1_000
  t.equal(await servedBy('GET'), 'green', 'replica answers 503: the read falls back to the canary')
  replica!.failCount = 0
  await replica!.refuse()
  t.equal(await servedBy('GET'), 'green', 'replica refuses: the same')
  t.equal(blue!.hits, 0, 'the old pool never served')
})
