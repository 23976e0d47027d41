// The page works on a laptop and on a phone: nothing sticks out sideways, every state keeps its words.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'

const browser = await launch(t)
const viewports: [label: string, width: number, height: number][] = [
  ['1280×800', 1280, 800],
  ['375×800 (phone)', 375, 800],
]

for (const [label, width, height] of viewports) {
  t.test(label, async (t) => {
    const { page, errors } = await openDashboard(t, { admin: { failover: true }, viewport: { width, height }, browser })
    await page.locator('section.pool .chart canvas').first().waitFor()
    const layout = await page.evaluate(() => {
      const outside: string[] = []
      for (const node of document.querySelectorAll('body *')) {
        const box = node.getBoundingClientRect()
        if (box.width === 0 || node.closest('.visually-hidden') !== null) continue
        if (box.left < -0.5 || box.right > window.innerWidth + 0.5) outside.push(`${node.tagName.toLowerCase()}.${node.className} ${Math.round(box.left)}..${Math.round(box.right)}`)
      }
      return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, outside }
    })
    t.equal(layout.scrollWidth, layout.clientWidth, 'no horizontal scrolling')
    t.same(layout.outside, [], 'no element beyond the viewport')
    const chart = await page.locator('[data-pool="payments"] .chart canvas').boundingBox()
    t.ok(chart !== null && chart.width > 200 && chart.width <= width, `the chart fits (${chart?.width} px)`)
    for (const state of ['unhealthy', 'ejected', 'healthy']) {
      const text = await page.locator(`li.tile[data-state="${state}"] .state`).first().innerText()
      t.match(text, new RegExp(`^\\S+\\s*${state}$`), `${state}: icon and word`)
    }
    t.same(errors, [])
  })
}
