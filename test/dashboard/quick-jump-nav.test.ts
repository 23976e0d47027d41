// With 200 pools the routes and the events were hundreds of Tab presses away (review r42c): a small nav, the first
// thing Tab reaches, jumps to Needs attention, Pools, Routes and Events; following a link moves focus there.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test('the first Tab reaches the jump links; each moves focus to its part of the page', async (t) => {
  const { page } = await openDashboard(t)
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.closest('nav')?.getAttribute('aria-label')), 'Jump to', 'first focus in the jump nav')
  const links = page.getByRole('navigation', { name: 'Jump to' }).getByRole('link')
  const targets = await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash))
  t.same(targets, ['#h-attention', '#h-pools', '#h-routes', '#h-events'])
  for (const hash of targets) {
    const name = await page.locator(`nav a[href="${hash}"]`).innerText()
    await page.locator(`nav a[href="${hash}"]`).focus()
    await page.keyboard.press('Enter')
    t.equal(await page.evaluate(() => '#' + (document.activeElement?.id ?? '')), hash, `${name}: focus on its heading`)
    t.equal(await page.locator(hash).textContent(), name, 'the heading the link names')
  }
})
