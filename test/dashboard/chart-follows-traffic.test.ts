// A pool's chart on screen redraws as the live stream brings new seconds of traffic: the five-minute window moves
// on, so two pictures of it a few seconds apart differ. (A chart that drew once and then kept its first picture
// passed every other test.)
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

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
