// Without a token on a non-loopback admin host, actions cannot work: the page disables them and says why.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

const REASON = 'no admin token is configured and the admin listener is not on loopback'

t.test('actions are disabled, and the page says why', async (t) => {
  const { admin, page, errors } = await openDashboard(t, { admin: { actionsDisabledReason: REASON } })
  t.equal(await page.locator('#notice').innerText(), `Actions disabled: ${REASON}`)
  const controls = page.locator('main button:visible, #reload, tr[data-route] input:visible')
  const states = await controls.evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('aria-label') ?? n.textContent, (n as HTMLButtonElement).disabled, n.getAttribute('title')]))
  t.ok(states.length >= 20, `${states.length} controls`)
  for (const [name, disabled] of states) t.ok(disabled, `${name} disabled`)
  t.ok(states.filter(([, , title]) => title === REASON).length >= 20, 'their tooltips say why')
  // even a scripted click goes nowhere
  await page.evaluate(() => { for (const b of document.querySelectorAll('button')) b.click() })
  await page.waitForTimeout(200)
  t.same(admin.calls, [])
  t.same(errors, [])
})
