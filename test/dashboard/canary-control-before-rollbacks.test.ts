// A route's release cell reads top-down: the canary's weight and its control first, then its rollbacks (review r41g
// makes the control when the route first gets a canary; it goes right after the "–", not at the cell's end where it
// would sit below the rollback warnings it explains), also for a canary a reload adds.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('the canary control comes before the rollbacks', async (t) => {
  const { admin, page } = await openDashboard(t)
  const rollback = { at: new Date().toISOString(), previousWeight: 20, requests: 100, errors: 30, errorRatePercent: 30 }
  admin.status.routes.find((r) => r.name === 'users')!.canary = { pool: 'catalog-canary', weight: 0, weightSource: 'rollback', rollbacks: [rollback] }
  admin.changed()
  const row = page.locator('tr[data-route="users"]')
  await waitUntil(async () => await row.locator('.rollbacks li').count() === 1 && await row.locator('.canary').isVisible(), 5000)
  const order = await row.locator('td[data-label="Release"]').evaluate((td) =>
    [...td.children].filter((c) => !(c as HTMLElement).hidden).map((c) => c.className))
  t.same(order, ['canary', 'rollbacks'], 'weight and control, then the rollbacks')
})
