// The access log names a route as metrics, /status and events do: its name, else its id. It logged the id even for
// named routes, so a log line could not be joined with the route's series.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("the access log's route is the route's name, else its id", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ name: 'payment', path: '/payment', pool: 'p' }, { path: '/member', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  for (const path of ['/payment/x', '/member/x']) await (await fetch(gw.url + path)).arrayBuffer()
  t.same(gw.accessLogs().map((l) => l.route), ['payment', '*/member'])
})
