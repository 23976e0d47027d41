// An OPTIONS whose Max-Forwards is refused (400: not one number) is answered before any release plan is consulted:
// on a read/write split route where OPTIONS is a read, a client's read-after-write token must not count it as a
// read sent to the primary. A refusal that went on to choose a pool would count reads that were never served,
// so switchyard_reads_to_primary_total would lie to the operator watching the split.
import t from 'tap'
import { request } from 'undici'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

const SECRET = 'a-shared-secret-of-32-characters!!'

t.test('a refused Max-Forwards on a split route counts no read to the primary', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  const gw = await startGateway({
    secret: SECRET,
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'OPTIONS'], stickyAfterWriteMs: 30_000 } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
  const sticky = async (): Promise<number> => Object.entries(seriesOf(await gw.gateway.metrics!.render()))
    .filter(([k]) => k.startsWith('switchyard_reads_to_primary_total{') && k.includes('reason="sticky"'))
    .reduce((sum, [, v]) => sum + v, 0)

  const write = await request(`${gw.url}/m/1`, { method: 'POST', body: '{}' })
  await write.body.dump()
  t.equal(write.statusCode, 200)
  const token = write.headers['x-read-after-write'] as string
  const before = await sticky()

  const refused = await request(`${gw.url}/m/1`, { method: 'OPTIONS', headers: { 'max-forwards': 'ten', 'x-read-after-write': token } })
  t.equal(refused.statusCode, 400)
  t.equal((await refused.body.json() as { error: string }).error, 'bad_request')
  t.equal(await sticky(), before, 'the refusal counted no read to the primary')

  // the same read with a good Max-Forwards is pinned, and counted (the token works)
  const pinned = await request(`${gw.url}/m/1`, { method: 'OPTIONS', headers: { 'max-forwards': '5', 'x-read-after-write': token } })
  await pinned.body.dump()
  t.equal(pinned.statusCode, 200)
  t.equal(await sticky(), before + 1)
  t.equal(replica.requests.length, 0)
})
