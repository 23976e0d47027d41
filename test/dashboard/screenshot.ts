// Regenerates docs/dashboard.png: the dashboard during an incident (payments on its backups with one primary
// unhealthy and one ejected, users' breaker open, a few events). Not a test; run it by hand:
//   PATH=$PWD/node_modules/.bin:$PATH node test/dashboard/screenshot.ts [out.png] [width]
import { fileURLToPath } from 'node:url'
import { launch } from './browser.ts'
import { startFakeAdmin } from './fixture.ts'

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
const width = Number(process.argv[3] ?? 1280)
const teardowns: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }

try {
  const admin = await startFakeAdmin({ failover: true, seedSeconds: 300 })
  t.teardown(() => admin.close())
  const browser = await launch(t)
  const { page, foreign, errors } = await browser.open(admin.url, { width, height: 800 })
  await page.emulateMedia({ colorScheme: 'light' })
  await page.goto(admin.url)
  await page.locator('[data-connection="live"]').waitFor()
  await page.locator('.chart canvas').first().waitFor()
  await page.waitForTimeout(1200) // a live point or two on the charts
  // a card far off screen is neither rendered nor redrawn (content-visibility, OnScreen) and a full-page capture does
  // not make it near: a viewport as tall as the page does, and every card draws what it deferred
  const height = await page.evaluate(() => document.documentElement.scrollHeight)
  await page.setViewportSize({ width, height })
  await page.waitForTimeout(500)
  await page.screenshot({ path: out, fullPage: true })
  if (foreign.length > 0 || errors.length > 0) console.error({ foreign, errors })
  console.log(`wrote ${out}`)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
