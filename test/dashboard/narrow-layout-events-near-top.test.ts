// On a narrow screen the events came after every pool and route, thousands of pixels down (review r42c). There they
// come right after "Needs attention", in a short box that shows the newest few (and scrolls for the rest), so the
// pools start within reach; on a wide screen they stay in their column beside everything.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'

const browser = await launch(t)

const top = (page: import('playwright-core').Page, selector: string) => page.locator(selector).evaluate((n) => n.getBoundingClientRect().top + window.scrollY)

t.test('390 px: events under Needs attention, before the pools, in a short box', async (t) => {
  const { admin, page } = await openDashboard(t, { browser, viewport: { width: 390, height: 844 } })
  for (let i = 0; i < 40; i++) admin.events.push({ at: new Date(Date.now() - 60_000 + i * 1000).toISOString(), kind: 'reload', message: `reload ${i}` })
  admin.live.disconnectAll()
  await page.locator('.feed li.event', { hasText: 'reload 39' }).waitFor()
  const [attention, events, pools] = [await top(page, '#h-attention'), await top(page, '#h-events'), await top(page, '#h-pools')]
  t.ok(attention < events && events < pools, `attention ${attention}, events ${events}, pools ${pools}`)
  const box = await page.getByRole('log').evaluate((n) => ({ height: n.getBoundingClientRect().height, scrolls: n.scrollHeight > n.clientHeight, tabIndex: (n as HTMLElement).tabIndex }))
  t.ok(box.height <= 844 / 2, `the events take at most half the screen (${box.height} px)`)
  t.ok(box.scrolls, 'and scroll for the rest')
  t.equal(box.tabIndex, 0, 'keys can scroll it: it takes focus')
  t.match(await page.locator('.feed li.event').first().innerText(), /reload 39/, 'the newest on top')
})

t.test('1280 px: events in their own column beside the pools', async (t) => {
  const { page } = await openDashboard(t, { browser, admin: { failover: true } })
  const events = (await page.locator('#h-events').boundingBox())!
  const pools = (await page.locator('#h-pools').boundingBox())!
  const attention = (await page.locator('#h-attention').boundingBox())!
  t.ok(events.x > pools.x + pools.width, 'to the right of the pools')
  t.ok(Math.abs(events.y - attention.y) < 2, 'level with Needs attention')
})
