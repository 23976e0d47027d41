// On a touch screen (pointer: coarse) the controls are sized for a finger (review r42c: tile buttons were 28 px tall
// with 4 px between them, the canary slider 16 px, the figures' labels 11 px): buttons and fields at least 44 px
// tall, 8 px apart, labels at least 12 px.
import t from 'tap'
import { launch } from './browser.ts'
import { startFakeAdmin } from './fixture.ts'

const browser = await launch(t)

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
