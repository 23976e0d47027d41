// The pools' charts: a chart on screen follows new seconds of traffic; under prefers-reduced-motion it redraws at
// most every 10 s (and as points come without the preference); and a card far off screen defers its redraws and its
// chart until it comes near. One browser for the file's tests; the reduced-motion page is opened first and watched
// while the other tests run, as most of its check is waiting for the held-back redraw.
import t from 'tap'
import type { Page } from 'playwright-core'
import type { DashboardTarget } from '../../src/admin/dashboard/wire.ts'
import { launch, type HasTeardown } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { startFakeAdmin } from './fixture.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

/** The dashboard with every canvas clear (a uPlot redraw) counted in window.redraws. */
async function countingRedraws (t: HasTeardown, reducedMotion: 'reduce' | 'no-preference'): Promise<Page> {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  const { page } = await browser.open(admin.url)
  t.teardown(() => page.close())
  await page.emulateMedia({ reducedMotion })
  await page.addInitScript(() => {
    const counter = window as unknown as { redraws: number }
    counter.redraws = 0
    const clear = CanvasRenderingContext2D.prototype.clearRect
    CanvasRenderingContext2D.prototype.clearRect = function (...args) { counter.redraws++; return clear.apply(this, args) }
  })
  await page.goto(admin.url)
  await page.locator('[data-connection="live"]').waitFor()
  await page.locator('[data-pool="payments"] .chart canvas').waitFor()
  return page
}

const redrawsIn = async (page: Page, ms: number): Promise<number> => {
  await page.evaluate(() => { (window as unknown as { redraws: number }).redraws = 0 })
  await page.waitForTimeout(ms)
  return page.evaluate(() => (window as unknown as { redraws: number }).redraws)
}

// The reduced-motion page, started now and checked by the last test: its wait for the redraw held back up to 10 s
// runs while the tests before it do (they use pages of their own, so nothing on this one resizes or changes). Its
// page and fake admin are closed by that test.
const reducedMotionClosers: (() => unknown)[] = []
const reducedMotion = (async () => {
  const page = await countingRedraws({ teardown: (fn) => reducedMotionClosers.push(fn) }, 'reduce')
  await page.waitForTimeout(500) // the history's points, drawn with the chart or held back with the rest
  const quiet = await redrawsIn(page, 3000)
  await waitUntil(() => page.evaluate(() => (window as unknown as { redraws: number }).redraws > 0), 12_000, 200)
  return { quiet }
})()
reducedMotion.catch(() => {}) // reported by its test, not as an unhandled rejection before it

// A pool's chart on screen redraws as the live stream brings new seconds of traffic: the five-minute window moves
// on, so two pictures of it a few seconds apart differ. (A chart that drew once and then kept its first picture
// passed every other test.)
t.test('the chart of a pool on screen follows new seconds of traffic', async (t) => {
  const { page } = await openDashboard(t, { browser })
  const canvas = page.locator('[data-pool="payments"] .chart canvas')
  await canvas.waitFor()
  const picture = (): Promise<string> => canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL())
  const first = await picture()
  // the fake admin records a second of traffic every second; snapshots go out at most twice a second
  await waitUntil(async () => await picture() !== first, 8000, 100)
  t.pass('redrawn with the new seconds')
})

// At fleet scale most pool cards are far off screen: such a card keeps its chart's points but is not redrawn, and
// its chart is not made, until it comes near the viewport; then it shows the latest state at once. (200 pools spent
// most of each snapshot's work on cards nobody saw, and making 200 charts forced a layout each as the page opened.)
const EXTRA_POOLS = 40

t.test('a far card waits until it comes near, then shows the latest state and its chart', async (t) => {
  const { admin, page } = await openDashboard(t, { browser, viewport: { width: 900, height: 700 }, waitLive: false })
  const target = (id: string): DashboardTarget => ({
    id, url: `http://${id}`, backup: false, weight: 1, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0,
  })
  for (let i = 0; i < EXTRA_POOLS; i++) admin.status.pools[`fleet-${String(i).padStart(2, '0')}`] = { circuit: 'closed', activeTier: 'primary', switchover: 'auto', hold: 'none', targets: [target(`10.1.${i}.1:80`), target(`10.1.${i}.2:80`)] }
  admin.changed()
  const last = `fleet-${EXTRA_POOLS - 1}`
  const lastTile = tile(page, last, `10.1.${EXTRA_POOLS - 1}.1:80`)
  await lastTile.waitFor({ state: 'attached' })
  const pools = Object.keys(admin.status.pools).length
  const charts = page.locator('section.pool .chart canvas')
  await charts.first().waitFor()
  const near = await charts.count()
  t.ok(near > 0 && near < pools / 2, `charts only for the cards near the screen (${near} of ${pools})`)

  // the far card's target goes down: a snapshot goes out, the far card is not redrawn
  admin.target(last, `10.1.${EXTRA_POOLS - 1}.1:80`).state = 'unhealthy'
  admin.changed()
  const seen = await page.evaluate(() => new Promise<number>((resolve) => {
    // two snapshots' worth of time (the throttle sends at most two a second)
    setTimeout(() => resolve(document.querySelectorAll('[data-state="unhealthy"]').length), 1500)
  }))
  t.equal(seen, 0, 'not redrawn while far off screen')
  t.equal(await lastTile.getAttribute('data-state'), 'healthy')

  await lastTile.scrollIntoViewIfNeeded()
  // the observer reports the card near within the next frames: the card draws what it deferred then, not at the
  // next snapshot or the one-second tick
  const afterTwoFrames = await lastTile.evaluate((tile) => new Promise<string | null>((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve(tile.getAttribute('data-state')), 0)))
  }))
  t.equal(afterTwoFrames, 'unhealthy', 'redrawn as soon as it is near')
  await page.locator(`[data-pool="${last}"] .chart canvas`).waitFor()
  t.pass('its chart made once near')
})

// A far card's chart is made when the card comes near, which is when the operator scrolls to it to click one of its
// buttons: the chart's box holds the plot and its legend from the start, so nothing below it moves as it is made
// (the legend's line, 27 px, pushed the tiles down under the pointer: a click the clean-clone CI's loaded host sent
// to the Drain button of a card just added landed on nothing).
t.test("a far card's buttons stay where they are as it comes near and its chart is made", async (t) => {
  const { admin, page } = await openDashboard(t, { browser, viewport: { width: 900, height: 700 } })
  const target = (id: string): DashboardTarget => ({
    id, url: `http://${id}`, backup: false, weight: 1, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0,
  })
  for (let i = 0; i < EXTRA_POOLS; i++) admin.status.pools[`far-${String(i).padStart(2, '0')}`] = { circuit: 'closed', activeTier: 'primary', switchover: 'auto', hold: 'none', targets: [target(`10.2.${i}.1:80`)] }
  admin.changed()
  const last = `far-${EXTRA_POOLS - 1}`
  const drain = tile(page, last, `10.2.${EXTRA_POOLS - 1}.1:80`).getByRole('button', { name: /^drain/ })
  await drain.waitFor({ state: 'attached' })
  t.equal(await page.locator(`[data-pool="${last}"] .chart canvas`).count(), 0, 'no chart while far')
  await drain.scrollIntoViewIfNeeded()
  const before = await drain.boundingBox()
  await page.locator(`[data-pool="${last}"] .chart canvas`).waitFor()
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  const after = await drain.boundingBox()
  t.ok(before !== null && after !== null && Math.abs(before.y - after.y) < 1, `the button did not move (${before?.y} → ${after?.y})`)
})

// Under prefers-reduced-motion a chart's lines do not crawl along every second (review r42c): new points are drawn
// at most every 10 s. Without the preference they are drawn as they come (about once a second). The reduced-motion
// page has been watched since the file started (above); this test's own page runs beside it.
t.test('no preference: redrawn as points come', async (t) => {
  const page = await countingRedraws(t, 'no-preference')
  t.ok(await redrawsIn(page, 3000) > 0, 'redrawn within 3 s')
})

t.test('reduced motion: no redraw for seconds, then one', async (t) => {
  t.teardown(async () => { for (const close of reducedMotionClosers.reverse()) await close() })
  const { quiet } = await reducedMotion
  t.equal(quiet, 0, 'nothing redrawn in 3 s of new points')
  t.pass('redrawn within 10 s')
})
