// An action run from the keyboard keeps the operator's place (review r42c): every control was disabled while an
// action ran, the focused one too, and the browser dropped focus to <body>. Now the controls are held
// (aria-disabled) and keep focus; a button that no longer applies afterwards (Drain on a drained target) hands focus
// to its counterpart (Enable); Forget, which hides itself, hands it to the token field.
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
