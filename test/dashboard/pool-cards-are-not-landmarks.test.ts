// A pool card is not a landmark (review r42c: each was a named <section>, so 200 pools were 200 regions in a screen
// reader's landmark list, burying main, the events and the page's own sections). A card is named by its heading.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test('no region per pool; each card has a heading naming its pool', async (t) => {
  const { admin, page } = await openDashboard(t)
  const pools = Object.keys(admin.status.pools)
  const regions = await page.getByRole('region').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label') ?? n.getAttribute('aria-labelledby')))
  t.ok(regions.length <= 3, `${regions.length} regions: ${regions.join(', ')}`)
  t.equal(await page.locator('[data-pool]').evaluateAll((cards) => cards.filter((c) => c.hasAttribute('aria-label') || c.hasAttribute('role')).length), 0, 'no card named or given a role')
  for (const pool of pools) {
    t.equal(await page.locator(`[data-pool="${pool}"]`).getByRole('heading', { level: 3, name: `pool ${pool}` }).count(), 1, `${pool}: its heading`)
  }
})
