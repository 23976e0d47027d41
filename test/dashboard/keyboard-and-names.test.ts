// The dashboard from the keyboard and by name: an action run from the keyboard keeps the operator's place, a jump
// nav reaches each part of the page in one Tab, every control's accessible name contains the words it shows (so
// speech control finds it), and the canary weight works as a form. One browser for the file's tests.
import t from 'tap'
import type { Page } from 'playwright-core'
import { launch, type HasTeardown } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const TOKEN = 'focus-t0ken'
const browser = await launch(t)

/** The focused element's accessible label (or id), or BODY when focus was dropped. */
const focused = (page: Page): Promise<string> => page.evaluate(() => {
  const active = document.activeElement
  if (active === null || active === document.body) return 'BODY'
  return active.getAttribute('aria-label') ?? active.id
})

/** Holds the POSTs matching `glob` until the returned release is called. */
async function hold (t: HasTeardown, page: Page, glob: string): Promise<{ arrived: Promise<void>; release: () => void }> {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let arrive: () => void = () => {}
  const arrived = new Promise<void>((resolve) => { arrive = resolve })
  await page.route(glob, async (route) => {
    arrive()
    await held
    await route.continue()
  })
  t.teardown(() => release())
  return { arrived, release }
}

const frame = (page: Page): Promise<void> => page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))))

// An action run from the keyboard keeps the operator's place (review r42c): every control was disabled while an
// action ran, the focused one too, and the browser dropped focus to <body>. Now the controls are held
// (aria-disabled) and keep focus; a button that no longer applies afterwards (Drain on a drained target) hands focus
// to its counterpart (Enable); Forget, which hides itself, hands it to the token field.
t.test('Drain by keyboard: focus stays on Drain (held) while it runs, then goes to Enable', async (t) => {
  const { page } = await openDashboard(t, { browser })
  const { arrived, release } = await hold(t, page, '**/pools/users/targets/*/drain')
  const target = tile(page, 'users', '10.0.2.21:8080')
  const drain = target.getByRole('button', { name: /^drain/ })
  await drain.focus()
  await page.keyboard.press('Enter')
  await arrived
  await frame(page)
  t.equal(await focused(page), 'drain 10.0.2.21:8080 in pool users', 'focus on Drain while the drain runs')
  t.equal(await drain.getAttribute('aria-disabled'), 'true', 'Drain is held')
  t.notOk(await drain.evaluate((b) => (b as HTMLButtonElement).disabled), 'but not disabled (which drops focus)')
  const other = tile(page, 'catalog', '10.0.3.31:8080').getByRole('button', { name: /^drain/ })
  t.equal(await other.getAttribute('aria-disabled'), 'true', 'the other actions are held too')
  release()
  await page.locator('[data-pool="users"] li.tile[data-target="10.0.2.21:8080"][data-state="drained"]').waitFor()
  await page.locator('#action-status.tone-ok').waitFor()
  await waitUntil(async () => await focused(page) !== 'drain 10.0.2.21:8080 in pool users')
  t.equal(await focused(page), 'enable 10.0.2.21:8080 in pool users', 'Drain no longer applies: focus on Enable')
  t.equal(await other.getAttribute('aria-disabled'), null, 'the others usable again')
})

t.test('Switch over by keyboard: focus stays on the switch button as its words flip', async (t) => {
  const { page } = await openDashboard(t, { browser })
  const button = page.locator('[data-pool="payments"] .card-head button')
  await button.focus()
  await page.keyboard.press('Enter')
  await page.locator('[data-pool="payments"] [data-tier="backup"]').waitFor()
  await page.locator('#action-status.tone-ok').waitFor()
  await frame(page)
  t.equal(await button.innerText(), 'Switch to primaries')
  t.ok(await button.evaluate((b) => document.activeElement === b), 'still focused')
})

t.test('Forget the token by keyboard: focus goes to the token field', async (t) => {
  const { page } = await openDashboard(t, { browser, admin: { token: TOKEN }, waitLive: false })
  await page.locator('#token').fill(TOKEN)
  await page.locator('#token').press('Enter')
  await page.locator('[data-connection="live"]').waitFor()
  await page.locator('#forget-token').focus()
  await page.keyboard.press('Enter')
  await page.locator('#forget-token').waitFor({ state: 'hidden' })
  await frame(page)
  t.equal(await focused(page), 'token')
})

t.test('an action refused for its token (401): focus goes to the token field', async (t) => {
  const { page } = await openDashboard(t, { browser, admin: { token: TOKEN }, waitLive: false })
  await page.locator('#token').fill(TOKEN)
  await page.locator('#token').press('Enter')
  await page.locator('[data-connection="live"]').waitFor()
  await page.route('**/pools/users/targets/*/drain', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":"unauthorized","message":"a valid bearer token is required"}' }))
  await tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ }).focus()
  await page.keyboard.press('Enter')
  await page.locator('#action-status.tone-bad').waitFor()
  await frame(page)
  t.equal(await focused(page), 'token')
})

// With 200 pools the routes and the events were hundreds of Tab presses away (review r42c): a small nav, the first
// thing Tab reaches, jumps to Needs attention, Pools, Routes and Events; following a link moves focus there.
t.test('the first Tab reaches the jump links; each moves focus to its part of the page', async (t) => {
  const { page } = await openDashboard(t, { browser })
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.closest('nav')?.getAttribute('aria-label')), 'Jump to', 'first focus in the jump nav')
  const links = page.getByRole('navigation', { name: 'Jump to' }).getByRole('link')
  const targets = await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash))
  t.same(targets, ['#h-attention', '#h-pools', '#h-routes', '#h-events'])
  for (const hash of targets) {
    const name = await page.locator(`nav a[href="${hash}"]`).innerText()
    await page.locator(`nav a[href="${hash}"]`).focus()
    await page.keyboard.press('Enter')
    t.equal(await page.evaluate(() => '#' + (document.activeElement?.id ?? '')), hash, `${name}: focus on its heading`)
    t.equal(await page.locator(hash).textContent(), name, 'the heading the link names')
  }
})

// A control's accessible name contains the words it shows (WCAG 2.5.3, review r42c: the switchover button showed
// "Switch to primaries" but was named "switch pool payments to its primaries", so "click Switch to primaries" in
// speech control found nothing). Checked for every visible button, link and labelled field on the page.
t.test("every visible control's name contains its visible text", async (t) => {
  const { page } = await openDashboard(t, { browser, admin: { failover: true } })
  await page.locator('[data-pool="payments"] .card-head button').waitFor()
  const controls = await page.evaluate(() => {
    const words = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim()
    return [...document.querySelectorAll('button, a[href]')].filter((n) => (n as HTMLElement).offsetParent !== null).map((n) => {
      const shown = words((n as HTMLElement).innerText)
      const name = words(n.getAttribute('aria-label') ?? (n as HTMLElement).innerText)
      return { shown, name, ok: name.includes(shown) }
    })
  })
  t.ok(controls.length >= 15, `${controls.length} controls`)
  t.same(controls.filter((c) => !c.ok).map((c) => `"${c.shown}" not in "${c.name}"`), [])
  t.ok(controls.some((c) => c.shown === 'switch to primaries' && c.name.startsWith('switch to primaries') && c.name.includes('payments')), 'the switchover button names its pool after its words')
})

// The canary weight control as a form (review r42c): Enter in the number box sets the weight as Set does; a weight
// outside 0-100 is not sent, and rather than nothing happening the field is marked invalid and the status line says
// so; the slider is named for its route, as the number box is.
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
