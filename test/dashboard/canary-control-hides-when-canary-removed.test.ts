// A reload that takes a route's canary away hides the route's canary control (review r41g made the control only
// for a route's first canary and keeps it afterwards: it must then be hidden, or the row goes on showing the old
// weight and a "Set" button for a canary that no longer exists, next to the "–" of a route with none).
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test("a canary removed by a reload: its control is hidden, the row shows '–'", async (t) => {
  const { admin, page } = await openDashboard(t)
  const row = page.locator('tr[data-route="catalog"]')
  await waitUntil(async () => await row.locator('.canary').isVisible(), 5000)
  delete admin.status.routes.find((r) => r.name === 'catalog')!.canary
  admin.changed()
  await waitUntil(async () => await row.locator('.muted', { hasText: '–' }).isVisible(), 5000)
  t.notOk(await row.locator('.canary').isVisible(), 'no canary control')
  t.notOk(await row.getByRole('button', { name: /^set the canary weight/ }).isVisible(), 'no Set button')
  t.equal(await row.locator('td[data-label="Release"]').innerText(), '–', 'only the dash')
})
