// A control's accessible name contains the words it shows (WCAG 2.5.3, review r42c: the switchover button showed
// "Switch to primaries" but was named "switch pool payments to its primaries", so "click Switch to primaries" in
// speech control found nothing). Checked for every visible button, link and labelled field on the page.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test("every visible control's name contains its visible text", async (t) => {
  const { page } = await openDashboard(t, { admin: { failover: true } })
  await page.locator('[data-pool="payments"] .card-head button').waitFor()
  const controls = await page.evaluate(() => {
    const words = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim()
    return [...document.querySelectorAll('button, a[href]')].filter((n) => (n as HTMLElement).offsetParent !== null).map((n) => {
      const shown = words((n as HTMLElement).innerText)
      const name = words(n.getAttribute('aria-label') ?? (n as HTMLElement).innerText)
      return { shown, name, ok: name.includes(shown) }
    })
  })
  t.ok(controls.length >= 15, `${controls.length} controls`)
  t.same(controls.filter((c) => !c.ok).map((c) => `"${c.shown}" not in "${c.name}"`), [])
  t.ok(controls.some((c) => c.shown === 'switch to primaries' && c.name.startsWith('switch to primaries') && c.name.includes('payments')), 'the switchover button names its pool after its words')
})
