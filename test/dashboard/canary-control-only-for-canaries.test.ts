// A route's canary control (a slider, a number, a button and their listeners) is made only for a route with a canary
// (review r41g: every one of 5,000 routes had one, hidden, 40,000 elements and 15,000 listeners of a 132,000-element
// page), and appears when a reload gives a route its canary.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('one canary control per canary route', async (t) => {
  const { admin, page } = await openDashboard(t)
  const canaries = admin.status.routes.filter((r) => r.canary !== undefined).length
  t.equal(await page.locator('table.routes .canary').count(), canaries, 'none for routes without a canary')
  // a reload gives the users route a canary
  admin.status.routes.find((r) => r.name === 'users')!.canary = { pool: 'catalog-canary', weight: 5, weightSource: 'file', rollbacks: [] }
  admin.changed()
  await waitUntil(async () => await page.locator('table.routes .canary').count() === canaries + 1, 5000)
  t.match(await page.locator('tr[data-route="users"] .canary-summary').innerText(), /canary catalog-canary: 5%/)
})
