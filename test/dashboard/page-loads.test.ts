// The page loads from the admin listener alone and draws every pool, target, route and event it is given.
import t from 'tap'
import { openDashboard, tile } from './dashboard-page.ts'

t.test('the dashboard draws the status, the charts and the event backlog, from its own origin only', async (t) => {
  // a window tall enough for every card to be near: a card far off screen makes its chart only once scrolled near
  // (test/dashboard/charts.test.ts)
  const { admin, page, foreign, errors } = await openDashboard(t, { admin: { failover: true }, viewport: { width: 1280, height: 2400 } })

  const pools = await page.locator('section.pool').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-pool')))
  t.same(pools, Object.keys(admin.status.pools), 'one card per pool, in config order')
  for (const [name, pool] of Object.entries(admin.status.pools)) {
    for (const target of pool.targets) {
      t.equal(await tile(page, name, target.id).getAttribute('data-state'), target.state, `${name}/${target.id}`)
    }
  }
  t.match(await tile(page, 'payments', '10.0.1.11:8080').innerText(), /unhealthy[\s\S]*connect ECONNREFUSED/, 'state word and the failed check')
  t.equal(await page.locator('[data-pool="payments"] [data-tier]').getAttribute('data-tier'), 'backup')
  t.match(await page.locator('[data-pool="users"] [data-circuit]').innerText(), /circuit open · half-open in 1\d s/)

  const routes = await page.locator('table.routes tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-route')))
  t.same(routes, ['payments', 'users', 'catalog', 'orders', 'cdn.example.com/static'])
  // textContent: the routes table below the cards is not rendered until scrolled near (content-visibility), and
  // innerText reads what is rendered
  t.match(await page.locator('tr[data-route="catalog"]').textContent(), /canary catalog-canary: 10%/)
  t.match(await page.locator('tr[data-route="orders"]').textContent(), /reads → orders-replicas/)

  t.equal(await page.locator('.feed li.event').count(), admin.events.length, 'the backlog')
  t.equal(await page.locator('.feed li.event').first().getAttribute('data-kind'), 'breaker', 'newest first')
  await page.locator('section.pool .chart canvas').first().waitFor()
  t.equal(await page.locator('section.pool .chart canvas').count(), pools.length, 'a chart per pool')
  t.match(await page.locator('.attention').innerText(), /pool users: circuit open/)

  t.same(foreign, [], 'no request left the admin origin')
  t.same(errors, [], 'no console or page error (CSP violations included)')
})
