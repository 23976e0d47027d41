// The operator's actions: the page asks for the admin token, sends each action with it as a bearer token, and
// draws the state the next snapshot brings.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const TOKEN = 'kN4s-7d!token'
const browser = await launch(t)

t.test('with a token configured: enter it, drain, switch over, set a canary weight', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { token: TOKEN }, waitLive: false, browser })

  // the stream itself wants the token: the page says so and offers the field
  await page.locator('[data-connection="unauthorized"]').waitFor()
  t.match(await page.locator('#notice').innerText(), /token/)
  t.ok(await page.locator('#reload').isDisabled(), 'actions off without a token')

  await page.locator('#token').fill(TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await page.locator('#notice').isHidden(), 'no notice once the token is given')

  const target = tile(page, 'payments', '10.0.1.12:8080')
  const drain = target.getByRole('button', { name: 'drain 10.0.1.12:8080 in pool payments' })
  t.ok(await drain.isEnabled())
  await drain.click()
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0], { method: 'POST', url: '/pools/payments/targets/10.0.1.12%3A8080/drain', authorization: `Bearer ${TOKEN}`, body: undefined })
  await page.locator('[data-pool="payments"] li.tile[data-target="10.0.1.12:8080"][data-state="drained"]').waitFor()
  t.match(await target.innerText(), /○\s*drained/)
  // the buttons are held while the action's answer is awaited: its "done" may come a frame after the drained state
  // the event stream brought (a loaded CI host showed the enable button still held)
  await page.locator('#action-status', { hasText: /Drain 10\.0\.1\.12:8080 in pool payments: done/ }).waitFor()
  t.ok(await drain.isDisabled(), 'a drained target cannot be drained again')
  t.ok(await target.getByRole('button', { name: /^enable/ }).isEnabled(), 'but can be enabled')

  await page.locator('[data-pool="payments"]').getByRole('button', { name: 'Switch to backups (pool payments)' }).click()
  await waitUntil(() => admin.calls.length === 2)
  t.same(admin.calls[1], { method: 'POST', url: '/pools/payments/switchover', authorization: `Bearer ${TOKEN}`, body: { to: 'backup' } })
  await page.locator('[data-pool="payments"] [data-tier="backup"]').waitFor()
  t.match(await page.locator('[data-pool="payments"] [data-tier]').innerText(), /on backups \(manual\)/)

  const canary = page.locator('tr[data-route="catalog"]')
  await canary.getByRole('spinbutton').fill('25')
  await canary.getByRole('button', { name: 'set the canary weight of route catalog' }).click()
  await waitUntil(() => admin.calls.length === 3)
  t.same(admin.calls[2], { method: 'POST', url: '/routes/catalog/canary', authorization: `Bearer ${TOKEN}`, body: { weight: 25 } })
  await waitUntil(async () => /canary catalog-canary: 25% \(set by operator\)/.test(await canary.innerText()))
})

t.test('a token the admin listener rejects is forgotten and asked for again', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { token: TOKEN }, waitLive: false, browser })
  await page.locator('#token').fill('wrong')
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="unauthorized"]').waitFor()
  t.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), null)
  t.ok(await page.locator('#token-form').isVisible())
  t.equal(admin.calls.length, 0)
})
