// A tile's four figures sit in four narrow columns: a draining target's "in flight" with its WebSocket tunnels named
// ("1 (1 WebSocket)") ran over req/s and errors (review r42c). Every figure fits its column and none overlaps
// another, on a laptop and on a phone; the tunnels get a line of their own.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'

const browser = await launch(t)

for (const [width, height] of [[1280, 800], [390, 844]] as const) {
  t.test(`${width} px: every figure within its column, none over another`, async (t) => {
    const { admin, page } = await openDashboard(t, { browser, viewport: { width, height } })
    Object.assign(admin.target('users', '10.0.2.22:8080'), { state: 'draining', inFlight: 12, tunnels: 11 })
    admin.changed()
    const target = page.locator('[data-pool="users"] li.tile[data-target="10.0.2.22:8080"][data-state="draining"]')
    await target.waitFor()
    await target.scrollIntoViewIfNeeded()
    const layout = await tile(page, 'users', '10.0.2.22:8080').evaluate((li) => {
      const boxes = [...li.querySelectorAll('.stats dd')].filter((dd) => (dd as HTMLElement).offsetParent !== null).map((dd) => {
        const range = document.createRange()
        range.selectNodeContents(dd)
        const text = range.getBoundingClientRect() // the text's own extent: it may run past its box
        return { text: dd.textContent, overflow: dd.scrollWidth - dd.clientWidth, left: text.left, right: text.right, top: text.top, bottom: text.bottom }
      })
      return { boxes, text: (li as HTMLElement).innerText }
    })
    t.ok(layout.boxes.length >= 5, `${layout.boxes.length} figures shown`)
    for (const box of layout.boxes) t.ok(box.overflow <= 0, `"${box.text}" fits its column (${box.overflow} px over)`)
    const overlaps: string[] = []
    layout.boxes.forEach((a, i) => layout.boxes.slice(i + 1).forEach((b) => {
      const apart = a.right <= b.left + 0.5 || b.right <= a.left + 0.5 || a.bottom <= b.top + 0.5 || b.bottom <= a.top + 0.5
      if (!apart) overlaps.push(`"${a.text}" over "${b.text}"`)
    }))
    t.same(overlaps, [], 'no figure over another')
    t.match(layout.text, /in flight\s*12\b/, 'the in-flight count')
    t.match(layout.text, /WebSocket\D*11\b/, 'the tunnels named')
  })
}
