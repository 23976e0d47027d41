// The canary weight control as a form (review r42c): Enter in the number box sets the weight as Set does; a weight
// outside 0-100 is not sent, and rather than nothing happening the field is marked invalid and the status line says
// so; the slider is named for its route, as the number box is.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

t.test('Enter in the number box sets the weight', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const number = page.locator('tr[data-route="catalog"]').getByRole('spinbutton')
  await number.fill('25')
  await number.press('Enter')
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0]!.body, { weight: 25 })
})

t.test('150 and Enter: nothing sent, the field invalid, the status line says why', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const number = page.locator('tr[data-route="catalog"]').getByRole('spinbutton')
  await number.fill('150')
  await number.press('Enter')
  await page.locator('#action-status:not(:empty)').waitFor()
  t.equal(await number.getAttribute('aria-invalid'), 'true', 'marked invalid')
  t.match(await page.locator('#action-status').getAttribute('class'), /tone-bad/, 'a problem in the status line')
  t.match(await page.locator('#action-status').innerText(), /catalog/, 'naming the route')
  t.ok(await number.evaluate((n) => document.activeElement === n), 'focus stays in the field')
  await page.waitForTimeout(200)
  t.same(admin.calls, [], 'nothing sent')
  await number.fill('20')
  t.equal(await number.getAttribute('aria-invalid'), null, 'no longer invalid once changed')
  await number.press('Enter')
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0]!.body, { weight: 20 })
})

t.test('the slider is named for its route', async (t) => {
  const { page } = await openDashboard(t, { browser })
  t.equal(await page.getByRole('slider', { name: /catalog/ }).count(), 1)
})
