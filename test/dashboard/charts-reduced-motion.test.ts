// Under prefers-reduced-motion a chart's lines do not crawl along every second (review r42c): new points are drawn
// at most every 10 s. Without the preference they are drawn as they come (about once a second).
import t from 'tap'
import type { Page } from 'playwright-core'
import { launch, type HasTeardown } from './browser.ts'
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

t.test('reduced motion: no redraw for seconds, then one', async (t) => {
  const page = await countingRedraws(t, 'reduce')
  await page.waitForTimeout(500) // the history's points, drawn with the chart or held back with the rest
  t.equal(await redrawsIn(page, 3000), 0, 'nothing redrawn in 3 s of new points')
  await waitUntil(() => page.evaluate(() => (window as unknown as { redraws: number }).redraws > 0), 12_000, 200)
  t.pass('redrawn within 10 s')
})

t.test('no preference: redrawn as points come', async (t) => {
  const page = await countingRedraws(t, 'no-preference')
  t.ok(await redrawsIn(page, 3000) > 0, 'redrawn within 3 s')
})
