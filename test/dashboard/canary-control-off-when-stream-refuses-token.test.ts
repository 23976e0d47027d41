// The canary control is turned off, as every other action is, when the live stream answers 401 and the page forgets
// the token (a wrong token typed over a good one, or the gateway's token rotated). The stream then sends no more
// snapshots, so only the one-second redraw can show it: the routes table, which that redraw leaves alone since review
// r41g, kept an enabled "Set" button (that did nothing when clicked) beside a disabled Reload and disabled pool buttons.
import t from 'tap'
import { openDashboard, tile } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const TOKEN = 'tok-c41'

t.test('a token the stream refuses turns the canary control off too', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: TOKEN }, waitLive: false })
  await page.locator('#token').fill(TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  const set = page.locator('tr[data-route="catalog"]').getByRole('button', { name: /^set the canary weight/ })
  const drain = tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ })
  await waitUntil(async () => await set.isEnabled(), 5000)
  t.ok(await drain.isEnabled(), 'actions on with the token')
  // a wrong token over the good one: the stream answers 401 and the page forgets it
  await page.locator('#token').fill('tok-wrong')
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="unauthorized"]').waitFor()
  await waitUntil(async () => await page.locator('#reload').isDisabled() && await drain.isDisabled(), 5000)
  // the other controls are off within a second: the canary's must be too
  await waitUntil(async () => await set.isDisabled(), 3000).catch(() => {})
  t.ok(await set.isDisabled(), 'the canary Set button is disabled')
  t.ok(await page.locator('tr[data-route="catalog"]').getByRole('spinbutton').isDisabled(), 'and its number')
  t.equal(await set.getAttribute('title'), 'enter the admin token above.', 'saying why')
})
