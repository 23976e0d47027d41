// While the live stream is down, what the page shows may be old: it says so with a banner and an outline as well as
// the badge, and its text keeps full contrast (review r42c: the whole of <main> was dimmed to opacity .55, below
// readable contrast just when an operator most needs to read it). Only the charts' lines fade.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test('stream down: a banner, no text faded; stream back: no banner', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { failover: true } })
  await page.locator('section.pool .chart canvas').first().waitFor()
  t.ok(await page.locator('#stale').isHidden(), 'no banner while live')
  await page.route('**/live', (route) => route.abort())
  admin.live.disconnectAll()
  await page.locator('[data-connection="reconnecting"]').waitFor()
  t.ok(await page.locator('#stale').isVisible(), 'a banner says the state may be old')
  const faded = await page.evaluate(() => {
    const out: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const parent = node.parentElement
      if (parent === null || (node.textContent ?? '').trim() === '' || parent.offsetParent === null) continue
      if (parent.closest('.u-wrap') !== null) continue // a chart's plot area: lines, not text
      if (parent.closest(':disabled') !== null) continue // a control that does not apply looks off, stale or not
      let opacity = 1
      for (let n: Element | null = parent; n !== null; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity)
      if (opacity < 1) out.push(`${parent.tagName.toLowerCase()}.${parent.className}: ${opacity}`)
    }
    return out
  })
  t.same(faded.slice(0, 10), [], 'no text faded')
  await page.unroute('**/live')
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await page.locator('#stale').isHidden(), 'the banner goes once live again')
})
