// A page left open across an upgrade of the gateway reloads itself once it has reconnected to a gateway serving
// another script (src/admin/dashboard/page-version.ts): the live stream's messages may have changed with it (round
// 41's `routes` message did), and a page of one version reading another's stream draws nothing. A reconnection to a
// gateway serving the same script keeps the page as it is. The upgrade is stood in for by answering the script's
// HEAD with another ETag; the reconnection by ending every stream (what a restart does to them).
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const marked = (page: Awaited<ReturnType<typeof openDashboard>>['page']): Promise<boolean> =>
  page.evaluate(() => (window as unknown as { marker?: number }).marker === 1)

t.test('a reconnection to a gateway serving the same script keeps the page', async (t) => {
  const { admin, page } = await openDashboard(t)
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1 })
  let heads = 0
  page.on('request', (request) => { if (request.method() === 'HEAD' && request.url().endsWith('/dashboard/app.js')) heads++ })
  admin.live.disconnectAll()
  await waitUntil(() => heads >= 1 && admin.live.clients === 1, 10_000)
  await page.locator('[data-connection="live"]').waitFor()
  await new Promise((resolve) => setTimeout(resolve, 300)) // the check's answer is in
  t.ok(await marked(page), 'not reloaded')
})

t.test('a reconnection to a gateway serving another script reloads the page', async (t) => {
  const { admin, page } = await openDashboard(t)
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1 })
  await page.route('**/dashboard/app.js', async (route) => {
    if (route.request().method() !== 'HEAD') return route.continue()
    const served = await route.fetch()
    await route.fulfill({ response: served, headers: { ...served.headers(), etag: '"another-version"' } })
  })
  const reloaded = page.waitForEvent('load', { timeout: 10_000 })
  admin.live.disconnectAll()
  await reloaded
  await page.unroute('**/dashboard/app.js')
  t.notOk(await marked(page), 'reloaded')
  await page.locator('[data-connection="live"]').waitFor()
  t.pass('live again after the reload')
})
