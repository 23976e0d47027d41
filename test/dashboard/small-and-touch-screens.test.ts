// The dashboard on small and touch screens, and its fields' edges: a tile's figures fit their columns on a laptop
// and a phone, the events come right after "Needs attention" on a narrow screen (and stay in their column on a wide
// one), controls are sized for a finger under a coarse pointer, and text fields' borders reach 3:1 in both colour
// schemes. One browser for the file's tests (the touch test takes a context of its own in it, for isMobile/hasTouch).
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { startFakeAdmin } from './fixture.ts'

const browser = await launch(t)

const top = (page: import('playwright-core').Page, selector: string) => page.locator(selector).evaluate((n) => n.getBoundingClientRect().top + window.scrollY)

// A tile's four figures sit in four narrow columns: a draining target's "in flight" with its WebSocket tunnels named
// ("1 (1 WebSocket)") ran over req/s and errors (review r42c). Every figure fits its column and none overlaps
// another, on a laptop and on a phone; the tunnels get a line of their own.
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

// On a narrow screen the events came after every pool and route, thousands of pixels down (review r42c). There they
// come right after "Needs attention", in a short box that shows the newest few (and scrolls for the rest), so the
// pools start within reach; on a wide screen they stay in their column beside everything.
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

// On a touch screen (pointer: coarse) the controls are sized for a finger (review r42c: tile buttons were 28 px tall
// with 4 px between them, the canary slider 16 px, the figures' labels 11 px): buttons and fields at least 44 px
// tall, 8 px apart, labels at least 12 px. A mobile, touch context of its own in the file's browser: isMobile and
// hasTouch are set when a context is made, not on a page.
t.test('a phone: 44 px controls, 8 px gaps, 12 px labels', async (t) => {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  const context = await browser.context.browser()!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(admin.url)
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await page.evaluate(() => matchMedia('(pointer: coarse)').matches), 'a coarse pointer')
  const sizes = await page.evaluate(() => {
    const visible = (n: Element): boolean => (n as HTMLElement).offsetParent !== null
    const height = (n: Element): number => n.getBoundingClientRect().height
    const controls = [...document.querySelectorAll('main button, main input, header button, header input, nav a')].filter(visible)
      .map((n) => ({ name: n.getAttribute('aria-label') ?? n.textContent ?? n.id, height: height(n) }))
    const gaps = [...document.querySelectorAll('.tile .buttons')].map((n) => Number.parseFloat(getComputedStyle(n).columnGap))
    const labels = [...document.querySelectorAll('.stats dt')].filter(visible).map((n) => Number.parseFloat(getComputedStyle(n).fontSize))
    return { controls, gaps, labels }
  })
  t.ok(sizes.controls.length >= 15, `${sizes.controls.length} controls`)
  const small = sizes.controls.filter((c) => c.height < 44).map((c) => `${c.name}: ${c.height} px`)
  t.same(small, [], 'every button, field and jump link at least 44 px tall')
  t.ok(sizes.gaps.length > 0 && sizes.gaps.every((g) => g >= 8), `tile buttons 8 px apart (${[...new Set(sizes.gaps)].join(', ')})`)
  t.ok(sizes.labels.length > 0 && sizes.labels.every((s) => s >= 12), `labels 12 px or more (${[...new Set(sizes.labels)].join(', ')})`)
})

// A text field's edge is what shows where to type: 3:1 against what is around it and inside it (WCAG 1.4.11), in
// both colour schemes (review r42c: the token and weight fields had --border, 1.3-1.5:1).
for (const colorScheme of ['light', 'dark'] as const) {
  t.test(`${colorScheme}: field borders at 3:1 or more`, async (t) => {
    const { page } = await openDashboard(t, { browser, admin: { token: 'tok-contrast' }, waitLive: false })
    await page.emulateMedia({ colorScheme })
    await page.locator('#token').fill('tok-contrast')
    await page.locator('#token').press('Enter')
    await page.locator('[data-connection="live"]').waitFor()
    const fields = await page.locator('#token, input[type="number"]').evaluateAll((inputs) => {
      const rgb = (css: string): number[] => css.match(/[\d.]+/g)!.slice(0, 3).map(Number)
      const luminance = (css: string): number => {
        const [r, g, b] = rgb(css).map((v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4 })
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
      }
      const ratio = (a: string, b: string): number => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x! + 0.05) / (y! + 0.05) }
      const backgroundOf = (n: Element | null): string => {
        for (; n !== null; n = n.parentElement) {
          const bg = getComputedStyle(n).backgroundColor
          if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg
        }
        return getComputedStyle(document.documentElement).backgroundColor
      }
      return inputs.map((input) => {
        const border = getComputedStyle(input).borderTopColor
        return { id: input.id || input.getAttribute('aria-label'), inside: ratio(border, backgroundOf(input)), around: ratio(border, backgroundOf(input.parentElement)) }
      })
    })
    t.ok(fields.length >= 2, `${fields.length} fields`)
    for (const f of fields) {
      t.ok(f.inside >= 3, `${f.id}: ${f.inside.toFixed(2)}:1 against its own background`)
      t.ok(f.around >= 3, `${f.id}: ${f.around.toFixed(2)}:1 against what is around it`)
    }
  })
}
