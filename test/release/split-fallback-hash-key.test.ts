// A split read that falls back to a hash-balanced primary pool is placed by the primary's hash key, like the
// client's writes; it used to carry the replicas' (none), so a client's reads scattered over the primary's targets.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('fallen-back reads keep the client\'s affinity', async (t) => {
  const upstreams = await Promise.all(['p1', 'p2', 'p3', 'replica'].map((name) => TestUpstream.start({ name })))
  const [p1, p2, p3, replica] = upstreams
  await replica!.refuse()
  const gw = await startGateway({
    pools: {
      main: { targets: [p1!.url, p2!.url, p3!.url], balancer: { type: 'hash', key: 'header:x-user-id' } },
      replicas: { targets: [replica!.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await Promise.all(upstreams.map((u) => u!.close())) })
  const servedBy = async (method: string, user: string): Promise<string | null> => {
    const res = await fetch(`${gw.url}/x`, { method, headers: { 'x-user-id': user } })
    await res.arrayBuffer()
    return res.headers.get('x-upstream')
  }
  for (const user of ['alice', 'bob', 'carol']) {
    const home = await servedBy('DELETE', user)
    const reads = new Set<string | null>()
    for (let i = 0; i < 12; i++) reads.add(await servedBy('GET', user))
    t.same([...reads], [home], `${user}'s reads go where the writes do`)
  }
})
