// A text field's edge is what shows where to type: 3:1 against what is around it and inside it (WCAG 1.4.11), in
// both colour schemes (review r42c: the token and weight fields had --border, 1.3-1.5:1).
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'

const browser = await launch(t)

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
