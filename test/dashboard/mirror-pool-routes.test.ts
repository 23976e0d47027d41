// A pool that a route only mirrors to is that route's too: its card named no route ("no route uses this pool")
// while it received the route's shadow copies.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test("a mirror pool's card names the route that mirrors to it", async (t) => {
  const { admin, page } = await openDashboard(t)
  admin.status.routes.push({ id: '*/api/orders', name: 'orders', path: '/api/orders', pool: 'catalog', mirror: { pool: 'catalog-canary', percent: 5, maxConcurrent: 16, inFlight: 0 } })
  admin.changed()
  const routes = page.locator('[data-pool="catalog-canary"] .pool-routes')
  await waitUntil(async () => /orders \(mirror\)/.test(await routes.innerText()))
  t.match(await routes.innerText(), /routes: catalog, orders \(mirror\)/)
})
