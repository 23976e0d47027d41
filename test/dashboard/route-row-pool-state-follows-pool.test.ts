// A route row shows its pool's state (" · on backups", " · circuit open, ...") even when the route itself does not
// change: against a real gateway a route without canary, reads or mirror is the very same object in every snapshot,
// and since review r41g such a row is skipped while its route object, its pool text and its action state are the
// same. The pool text must be part of that comparison, or a pool switched over (or whose breaker opened) keeps
// saying "on primaries" on every route that uses it. (fixture.ts sends every route with every snapshot: the page
// tests on it never see the same route object twice, so only a real gateway shows this.)
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { launch, SHOWN_WITHIN_MS } from './browser.ts'
import { waitUntil } from './wait.ts'

t.test("a plain route's row follows its pool's tier", async (t) => {
  const [u1, u2] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' })])
  const gw = await startGateway({
    pools: { a: { targets: [u1.url, { url: u2.url, backup: true }], outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ name: 'plain', path: '/plain', pool: 'a' }],
  }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await Promise.all([u1.close(), u2.close()]) })

  const browser = await launch(t)
  const { page, errors } = await browser.open(admin)
  await page.goto(admin)
  await page.locator('[data-connection="live"]').waitFor()
  const state = page.locator('tr[data-route="plain"] .route-pool-state')
  await waitUntil(async () => await state.count() === 1 && /on primaries/.test(await state.innerText()), SHOWN_WITHIN_MS)
  t.pass('on primaries at first')

  const switched = await fetch(`${admin}/pools/a/switchover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'backup' }) })
  t.equal(switched.status, 200)
  // the pool's card says so first: the route row must follow with the same snapshot
  await waitUntil(async () => /on backups/i.test(await page.locator('[data-pool="a"]').innerText()), SHOWN_WITHIN_MS)
  await waitUntil(async () => /on backups/.test(await state.innerText()), 3000).catch(() => {})
  t.match(await state.innerText(), /on backups/, "the route row says its pool is on its backups")
  t.strictSame(errors, [], 'no console errors')
})
