// The route map the gateway keeps for its split, canary and mirror events (which series a route's events count in)
// is dropped with the routing table a reload replaced. It kept the last table such an event saw, with every one of
// its routes, until the next such event, which a config without those routes never makes (review r36d).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { waitUntilCollected } from '../helpers/collected.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("a reload frees the replaced table the split's events looked at", async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const replica = await TestUpstream.start({ name: 'replica' })
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const next = { pools: { p: { targets: [primary.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await startGateway({
    metrics: { enabled: true },
    pools: { p: { targets: [primary.url] }, r: { targets: [replica.url] } },
    routes: [{ path: '/db', pool: 'p', reads: { pool: 'r' } }, { path: '/', pool: 'p' }],
  }, { load: async () => validateConfig(next), defaultMetrics: false })
  t.teardown(() => gw.close())

  // a write, then a read pinned to the primary: a split event (readToPrimary 'sticky') counted in the route's series
  const write = await fetch(`${gw.url}/db/x`, { method: 'POST', body: 'x' })
  await write.text()
  const cookie = write.headers.get('set-cookie')?.split(';')[0]
  t.ok(cookie, 'the write pins its client')
  const read = await fetch(`${gw.url}/db/x`, { headers: { cookie: cookie! } })
  t.equal(read.headers.get('x-upstream'), 'primary', 'the read went to the primary')
  await read.text()
  const table = ((): WeakRef<object> => new WeakRef(gw.gateway.proxy.state.table))()
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  await waitUntilCollected(() => (table.deref() === undefined ? [] : ['the replaced routing table']), (held) => {
    throw new Error(`still held: ${held.join(' ')}`)
  })
  t.pass('collected')
})
