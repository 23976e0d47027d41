// At fleet scale most pool cards are far off screen: such a card keeps its chart's points but is not redrawn, and
// its chart is not made, until it comes near the viewport; then it shows the latest state at once. (200 pools spent
// most of each snapshot's work on cards nobody saw, and making 200 charts forced a layout each as the page opened.)
import t from 'tap'
import type { DashboardTarget } from '../../src/admin/dashboard/wire.ts'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'

const browser = await launch(t)
const EXTRA_POOLS = 40

t.test('a far card waits until it comes near, then shows the latest state and its chart', async (t) => {
  const { admin, page } = await openDashboard(t, { browser, viewport: { width: 900, height: 700 }, waitLive: false })
  const target = (id: string): DashboardTarget => ({
    id, url: `http://${id}`, backup: false, weight: 1, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0,
  })
  for (let i = 0; i < EXTRA_POOLS; i++) admin.status.pools[`fleet-${String(i).padStart(2, '0')}`] = { circuit: 'closed', activeTier: 'primary', switchover: 'auto', targets: [target(`10.1.${i}.1:80`), target(`10.1.${i}.2:80`)] }
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
