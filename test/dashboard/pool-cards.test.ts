// The pool cards: breaker and tier badges and their "since", the switchover button, the routes a pool serves,
// per-pool since tracking, and pools or targets removed by a reload.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// An open breaker whose retry time has passed says "half-open due" rather than counting down past zero ("in 0 s"):
// the operator learns the next request will be let through as a probe.
t.test('an open breaker with no time left reads "half-open due"', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  Object.assign(admin.pool('users'), { circuit: 'open', circuitRetryAfterSeconds: 0 })
  admin.changed()
  const circuit = page.locator('[data-pool="users"] [data-circuit="open"]')
  await circuit.waitFor()
  t.match(await circuit.innerText(), /circuit open · half-open due/)
})

// An open breaker's badge says since when it has been open (the gateway's circuitSince), and that time is the
// breaker's, not the time the pool's tier last changed.
t.test("an open breaker's badge shows its own since", async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const circuitSince = new Date(Date.now() - 18_000).toISOString()
  Object.assign(admin.pool('users'), { circuit: 'open', circuitRetryAfterSeconds: 12, circuitSince, activeTierSince: new Date(Date.now() - 7_200_000).toISOString() })
  admin.changed()
  const circuit = page.locator('[data-pool="users"] [data-circuit="open"]')
  await circuit.waitFor()
  const shown = await page.evaluate((iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }), circuitSince)

  t.ok((await circuit.innerText()).endsWith(`· since ${shown}`), await circuit.innerText())
})

// A pool on its primaries is the normal case: its tier badge says "on primaries" and nothing more, even when the
// gateway reports when traffic came back to them; "since" is shown only for a pool off its primaries.
t.test('no "since" on a pool on its primaries; one on a pool on its backups', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const at = new Date(Date.now() - 60_000).toISOString()
  Object.assign(admin.pool('users'), { activeTierSince: at })
  Object.assign(admin.pool('payments'), { activeTier: 'backup', activeTierSince: at })
  admin.changed()
  const payments = page.locator('[data-pool="payments"] [data-tier]')
  await page.locator('[data-pool="payments"] [data-tier="backup"]').waitFor()
  await waitUntil(async () => /since/.test(await payments.innerText()))
  t.equal(await page.locator('[data-pool="users"] [data-tier]').innerText(), '▲ on primaries')
})

// The switchover button offers the way back: a pool on its backups offers "Switch to primaries" (and sends
// to: primary), one on its primaries "Switch to backups"; a pool with no backup target offers none.
t.test('switchover offers the other tier, and only where there are backups', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { failover: true }, browser })
  const button = page.locator('[data-pool="payments"] header button')
  t.equal(await button.innerText(), 'Switch to primaries')
  await button.click()
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0]!.body, { to: 'primary' })
  t.ok(await page.locator('[data-pool="users"] header button').isHidden(), 'users has no backup: no button')
})

// The tier badge tells an operator's switchover from a failover held by failback 'manual' (the pool's `hold`); a
// switchover still armed on the primaries (its backups went down) offers to cancel it, which sends to: primary:
// offered "Switch to backups" before, it could not be disarmed from the page.
t.test("a hold reads as the operator's or a failover's; an armed switchover on primaries can be cancelled", async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { failover: true }, browser })
  const badge = page.locator('[data-pool="payments"] [data-tier]')
  Object.assign(admin.pool('payments'), { activeTier: 'backup', switchover: 'manual', hold: 'failover' })
  admin.changed()
  await waitUntil(async () => /held after a failover/.test(await badge.innerText()))
  Object.assign(admin.pool('payments'), { activeTier: 'primary', switchover: 'manual', hold: 'operator' })
  admin.changed()
  await page.locator('[data-pool="payments"] [data-tier="primary"]').waitFor()
  t.match(await badge.innerText(), /on primaries \(manual\)/)
  const button = page.locator('[data-pool="payments"] header button')
  t.equal(await button.innerText(), 'Cancel the switchover')
  await button.click()
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0]!.body, { to: 'primary' })
  // armed on nothing (every target down): offered "Switch to backups" before, for a pool already switched over
  Object.assign(admin.pool('payments'), { activeTier: 'none', switchover: 'manual', hold: 'operator' })
  admin.changed()
  await page.locator('[data-pool="payments"] [data-tier="none"]').waitFor()
  t.equal(await button.innerText(), 'Cancel the switchover')
  // its backups DNS-discovered ones answering nothing for now: no backup listed, the switchover still cancellable
  const pool = admin.pool('payments')
  Object.assign(pool, { activeTier: 'primary', targets: pool.targets.filter((x) => !x.backup) })
  admin.changed()
  await page.locator('[data-pool="payments"] [data-tier="primary"]').waitFor()
  t.equal(await button.isVisible(), true, 'shown')
  t.equal(await button.innerText(), 'Cancel the switchover')
})

// A pool's card names every route that sends it traffic: as its own pool, as a canary's pool, or as a split
// route's read pool; a canary or replica pool must not read "no route uses this pool" while it takes requests.
t.test('canary and read pools name their routes', async (t) => {
  const { page } = await openDashboard(t, { browser })
  t.equal(await page.locator('[data-pool="catalog-canary"] .pool-routes').innerText(), 'routes: catalog')
  t.equal(await page.locator('[data-pool="orders-replicas"] .pool-routes').innerText(), 'routes: orders')
})

// "Since when" is tracked per pool and target: one address in two pools (a shared host) may be healthy in one and
// unhealthy in the other, and the one must not take the other's state changes for its own (a healthy tile that
// never changed must not start reading "for 0 s").
t.test('a target id shared by two pools has a since per pool', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.status.pools['users-b'] = {
    circuit: 'closed', activeTier: 'primary', switchover: 'auto', hold: 'none',
    targets: [{ id: '10.0.2.21:8080', url: 'http://10.0.2.21:8080', backup: false, weight: 1, state: 'unhealthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0 }],
  }
  admin.changed()
  await tile(page, 'users-b', '10.0.2.21:8080').waitFor()
  // two more snapshots, each seen on the page
  for (const inFlight of [5, 6]) {
    admin.target('catalog', '10.0.3.31:8080').inFlight = inFlight
    admin.changed()
    await waitUntil(async () => new RegExp(`in flight\\s*${inFlight}\\s`).test(await tile(page, 'catalog', '10.0.3.31:8080').innerText()))
  }
  t.equal(await tile(page, 'users', '10.0.2.21:8080').locator('.since').innerText(), '', 'healthy all along: no since')
  t.match(await tile(page, 'users-b', '10.0.2.21:8080').locator('.since').innerText(), /^for \d+ s$/, 'the other pool\'s tile has its own')
})

// A pool or target the gateway no longer has (a reload removed it) disappears from the page: a card or tile left
// behind would show a target that takes no traffic as if it were still in rotation.
t.test('removed pools and targets leave the page without a reload', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  t.equal(await page.locator('section.pool[data-pool="orders"]').count(), 1)
  t.equal(await tile(page, 'users', '10.0.2.22:8080').count(), 1)
  delete admin.status.pools.orders
  admin.pool('users').targets.pop()
  admin.changed()
  await page.locator('section.pool[data-pool="orders"]').waitFor({ state: 'detached' })
  await tile(page, 'users', '10.0.2.22:8080').waitFor({ state: 'detached' })
  t.equal(await tile(page, 'users', '10.0.2.21:8080').count(), 1, 'the other target stays')
})

// A pool that a route only mirrors to is that route's too: its card named no route ("no route uses this pool")
// while it received the route's shadow copies.
t.test("a mirror pool's card names the route that mirrors to it", async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.status.routes.push({ id: '*/api/orders', name: 'orders', path: '/api/orders', pool: 'catalog', mirror: { pool: 'catalog-canary', percent: 5, maxConcurrent: 16, inFlight: 0 } })
  admin.changed()
  const routes = page.locator('[data-pool="catalog-canary"] .pool-routes')
  await waitUntil(async () => /orders \(mirror\)/.test(await routes.innerText()))
  t.match(await routes.innerText(), /routes: catalog, orders \(mirror\)/)
})
