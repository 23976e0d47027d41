// "Needs attention": its order of severity, a gateway not ready, and release trouble on routes.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// "Needs attention" lists the most severe first: an open breaker, a target out (unhealthy or ejected) before a
// pool on its backups or a half-open breaker. An ejected target is as severe as an unhealthy one, and a target
// ejected though its last check passed shows no check error.
t.test('severe lines first; ejected is severe; no check error for a passed check', async (t) => {
  const { page } = await openDashboard(t, { admin: { failover: true }, browser })
  const lines = await page.locator('.attention li').evaluateAll((nodes) => nodes.map((n) => [n.className, n.textContent ?? '']))
  const tones = lines.map(([tone]) => tone)
  t.same(tones, [...tones].sort((a, b) => (a === 'tone-bad' ? 0 : 1) - (b === 'tone-bad' ? 0 : 1)), 'bad before warn')
  t.equal(tones[0], 'tone-bad')
  const ejected = lines.find(([, text]) => text.includes('10.0.1.12:8080'))!
  t.equal(ejected[0], 'tone-bad', 'ejected is severe')
  t.match(ejected[1], /10\.0\.1\.12:8080 in payments: ejected( — since|$)/, 'no check error after "ejected"')
})

// A gateway that is not ready (e.g. draining for shutdown) is a line under "Needs attention", and the all-clear is
// not shown: a load balancer is taking it out of rotation.
t.test('a draining gateway needs attention', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  t.ok(await page.locator('.all-clear').isVisible())
  ;(admin.status as { readiness: string }).readiness = 'draining'
  admin.changed()
  await waitUntil(async () => await page.locator('.attention li').count() === 1)
  t.match(await page.locator('.attention li').innerText(), /gateway draining/)
  t.ok(await page.locator('.all-clear').isHidden())
})

// Release trouble needs attention too: a split route whose reads fell back to the write pool, and a canary that
// was rolled back, each get a line.
t.test('fallen-back reads and a rolled-back canary are listed', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.status.routes.find((r) => r.name === 'orders')!.split!.fallbackActive = true
  admin.status.routes.find((r) => r.name === 'catalog')!.canary!.weightSource = 'rollback'
  admin.changed()
  const lines = page.locator('.attention li')
  await waitUntil(async () => await lines.count() > 0)
  const texts = await lines.allInnerTexts()
  t.ok(texts.some((x) => /route orders: reads fell back to orders/.test(x)), 'split fallback')
  t.ok(texts.some((x) => /route catalog: canary catalog-canary rolled back/.test(x)), 'canary rollback')
})

// A half-open breaker is a warning under "Needs attention", not an alarm: it is already letting a probe through,
// and ranks below an open breaker or a target out of rotation.
t.test('a half-open breaker is a warning line', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.pool('users').circuit = 'half-open'
  admin.changed()
  const line = page.locator('.attention li', { hasText: 'pool users: circuit half-open' })
  await line.waitFor()
  t.equal(await line.getAttribute('class'), 'tone-warn')
})
