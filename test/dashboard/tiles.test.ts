// The tiles of a pool card: a target's last check, its out-of-rotation span, its error alarm, its in-flight count,
// the buttons a disabled target offers, and the order of primaries and backups.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// A tile's last health check: passed with the status it got ("passed: 200 · 5 min ago"), or failed and marked
// as such (class "check failed"), with how long ago it was taken.
t.test('the last check: its status, its age, and a failed one marked', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.target('users', '10.0.2.21:8080').lastCheck = { ok: true, at: new Date(Date.now() - 300_000).toISOString(), status: 204 }
  admin.target('users', '10.0.2.22:8080').lastCheck = { ok: false, at: new Date().toISOString(), status: 503 }
  admin.changed()
  const passed = tile(page, 'users', '10.0.2.21:8080').locator('.check')
  await waitUntil(async () => /204/.test(await passed.innerText()))
  t.equal(await passed.innerText(), '✓ check passed: 204 · 5 min ago')
  t.equal(await passed.getAttribute('class'), 'check')
  const failed = tile(page, 'users', '10.0.2.22:8080').locator('.check')
  t.match(await failed.innerText(), /^✗ check failed: 503/)
  t.equal(await failed.getAttribute('class'), 'check failed')
})

// A disabled target can only be enabled: Drain and Disable do not apply to it (its buttons are off), Enable does.
t.test('a disabled target offers Enable only', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.target('users', '10.0.2.22:8080').state = 'disabled'
  admin.changed()
  const target = page.locator('[data-pool="users"] li.tile[data-target="10.0.2.22:8080"][data-state="disabled"]')
  await target.waitFor()
  const button = (name: string) => tile(page, 'users', '10.0.2.22:8080').getByRole('button', { name: new RegExp(`^${name} `) })
  t.ok(await button('drain').isDisabled(), 'drain')
  t.ok(await button('disable').isDisabled(), 'disable')
  t.ok(await button('enable').isEnabled(), 'enable')
})

// A target whose error rate over the last minute is 5% or more has its error figure marked (class "alarm"); one
// with a trace of errors (0.2%) has not. The users pool of the incident fails about 15-60% of its requests.
t.test('error rates of 5% and up are marked', async (t) => {
  const { page } = await openDashboard(t, { admin: { failover: true }, browser })
  const errors = (pool: string, target: string) => tile(page, pool, target).locator('dl.stats > div:nth-child(3) > dd')
  const users = await errors('users', '10.0.2.22:8080').innerText()
  t.ok(Number.parseFloat(users) >= 5 && Number.parseFloat(users) < 50, `users at ${users}`)
  t.equal(await errors('users', '10.0.2.22:8080').getAttribute('class'), 'alarm')
  t.equal(await errors('catalog', '10.0.3.31:8080').getAttribute('class'), null)
})

// A target out of rotation says for how long ("for 30 s"), counted from the gateway's since to the gateway's now.
t.test('a target unhealthy for 30 s reads "for 3x s"', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  Object.assign(admin.target('users', '10.0.2.22:8080'), { state: 'unhealthy', since: new Date(Date.now() - 30_000).toISOString() })
  admin.changed()
  await page.locator('[data-pool="users"] li.tile[data-target="10.0.2.22:8080"][data-state="unhealthy"]').waitFor()
  t.match(await tile(page, 'users', '10.0.2.22:8080').locator('.since').innerText(), /^for 3\d s$/)
})

// A tile's "in flight" is the bare count when no WebSocket tunnel is open; tunnels are named only when there are
// some (so "0 (0 WebSocket)" never clutters every tile).
t.test('in flight without tunnels is the bare number', async (t) => {
  const { page } = await openDashboard(t, { admin: { failover: true }, browser })
  const text = await tile(page, 'payments', '10.0.9.11:8080').innerText()
  t.match(text, /in flight\s*7\s/)
  t.notMatch(text, /WebSocket/)
})

// Within a pool card the primaries come first and the backups after them, whatever order the status lists them in:
// the operator reads the tiles that normally take the traffic first.
t.test('primaries before backups', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const targets = admin.pool('payments').targets
  targets.unshift(targets.pop()!) // the backup listed first
  admin.changed()
  const tiles = page.locator('[data-pool="payments"] li.tile')
  await waitUntil(async () => await tiles.count() === 3)
  t.same(await tiles.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-target'))), ['10.0.1.11:8080', '10.0.1.12:8080', '10.0.9.11:8080'])
})

// A tile names the target's role and weight ("backup · w1", "primary · w2"): during a failover the operator tells at
// a glance which tiles are the backups now taking the traffic, and which targets weigh more in the balance.
t.test('a tile names its role and weight', async (t) => {
  const { page } = await openDashboard(t, { browser })
  t.equal(await tile(page, 'payments', '10.0.9.11:8080').locator('.tile-name .tag').innerText(), 'backup · w1')
  t.equal(await tile(page, 'payments', '10.0.1.11:8080').locator('.tile-name .tag').innerText(), 'primary · w1')
  t.equal(await tile(page, 'users', '10.0.2.21:8080').locator('.tile-name .tag').innerText(), 'primary · w2')
})
