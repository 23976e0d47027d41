// The page puts each snapshot's routes back together from the connection's `routes` message and the snapshot's
// routeState (src/admin/dashboard/live-client.ts): against a real gateway, which sends every route once and then
// only the routes whose state moves, by index, the canary and the split rows show their state, each on its own row
// (a state merged by the wrong index lands on a neighbour's row), and a canary weight set through the admin API
// shows on the page. (The page tests on fixture.ts send every route with every snapshot: they never merge.)
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { launch, SHOWN_WITHIN_MS } from './browser.ts'
import { waitUntil } from './wait.ts'

t.test("a real gateway's routes on the page: each row with its own moving state, which follows the gateway", async (t) => {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const gw = await startGateway({
    pools: {
      a: { targets: [u1.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      b: { targets: [u2.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [
      { name: 'plain', path: '/plain', pool: 'a' },
      { name: 'pay', path: '/pay', pool: 'a', canary: { pool: 'b', weight: 10 } },
      { name: 'orders', path: '/orders', pool: 'a', reads: { pool: 'b' } },
    ],
  }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await Promise.all([u1.close(), u2.close()]) })

  const browser = await launch(t)
  const { page, errors } = await browser.open(admin)
  await page.goto(admin)
  await page.locator('[data-connection="live"]').waitFor()
  const rows = page.locator('table.routes tbody tr')
  await waitUntil(async () => await rows.count() === 3, SHOWN_WITHIN_MS)
  t.same(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-route'))), ['plain', 'pay', 'orders'], 'one row per route, in order')

  const row = (name: string) => page.locator(`tr[data-route="${name}"]`)
  await waitUntil(async () => /canary b: 10%/.test(await row('pay').locator('.canary-summary').innerText()), SHOWN_WITHIN_MS)
  t.ok(await row('pay').locator('.canary').isVisible(), "the canary's state on its own row")
  t.ok(await row('orders').locator('.split').isVisible(), "the split's state on its own row")
  t.match(await row('orders').locator('.split').innerText(), /reads → b, writes → a/)
  t.notOk(await row('plain').locator('.canary').isVisible(), 'no canary on the plain route')
  t.notOk(await row('plain').locator('.split').isVisible(), 'no split on the plain route')

  const put = await fetch(`${admin}/routes/pay/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight: 40 }) })
  t.equal(put.status, 200)
  await waitUntil(async () => /canary b: 40% \(set by operator\)/.test(await row('pay').locator('.canary-summary').innerText()), SHOWN_WITHIN_MS)
  t.pass('the weight set through the admin API shows on the page')
  t.strictSame(errors, [], 'no console errors')
})
