// The routes table: what each route matches, the state of its pool, rows kept in place as routes are added, and
// the canary controls (editing, the weight range, rollbacks).
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// The routes table is kept in step with the gateway without rebuilding it: a route added in front of the others
// is inserted, and the rows already there stay where they are, so the canary weight an operator is typing in keeps
// its focus (moving a row in the DOM would take it away mid-edit).
t.test('a route added first is the first row, and the field being edited keeps its focus', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const field = page.locator('tr[data-route="catalog"]').getByRole('spinbutton')
  await field.focus()
  admin.status.routes.unshift({ id: '*/api/first', name: 'first', path: '/api/first', pool: 'users' })
  admin.changed()
  const rows = page.locator('table.routes tbody tr')
  await waitUntil(async () => await rows.count() === admin.status.routes.length)
  t.same(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-route'))), admin.status.routes.map((r) => r.name ?? r.id))
  t.ok(await field.evaluate((node) => document.activeElement === node), 'the canary field still has the focus')
})

// A route row says what the route matches: the host ("*" for any), the path, and its methods separated by
// spaces, so two routes on one path are told apart at a glance.
t.test('host, path and methods of each route', async (t) => {
  const { page } = await openDashboard(t, { browser })
  t.equal(await page.locator('tr[data-route="payments"] .route-match').innerText(), '*/api/payments GET POST')
  t.equal(await page.locator('tr[data-route="users"] .route-match').innerText(), '*/api/users')
  t.equal(await page.locator('tr[data-route="cdn.example.com/static"] .route-match').innerText(), 'cdn.example.com/static')
})

// A route's row tells the state of its pool: an open breaker on it is named there ("circuit open, on primaries"),
// so the operator sees which routes an incident touches without looking up each pool.
t.test("an open breaker shows on its routes' rows", async (t) => {
  const { page } = await openDashboard(t, { admin: { failover: true }, browser })
  t.equal(await page.locator('tr[data-route="users"] .route-pool-state').textContent(), ' · circuit open, on primaries')
  t.equal(await page.locator('tr[data-route="catalog"] .route-pool-state').textContent(), ' · on primaries')
})

// The canary weight control: while the operator is typing a weight, snapshots do not overwrite it; once the weight
// is applied, the control follows the gateway again (a later change from elsewhere shows).
t.test('a weight being typed is kept; after Set the control follows the gateway', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const row = page.locator('tr[data-route="catalog"]')
  const field = row.getByRole('spinbutton')
  const summary = row.locator('.canary-summary')
  const canary = admin.status.routes.find((r) => r.name === 'catalog')!.canary!

  await field.fill('33')
  canary.weightSource = 'operator' // a snapshot comes, visibly
  admin.changed()
  await waitUntil(async () => /set by operator/.test(await summary.innerText()))
  t.equal(await field.inputValue(), '33', 'not overwritten while being edited')

  await row.getByRole('button', { name: 'set the canary weight of route catalog' }).click()
  await waitUntil(async () => /: 33%/.test(await summary.innerText()))
  canary.weight = 40 // changed elsewhere
  admin.changed()
  await waitUntil(async () => /: 40%/.test(await summary.innerText()))
  t.equal(await field.inputValue(), '40', 'follows the gateway once applied')
})

// A canary's rollbacks are listed newest first (at most three), like the event feed: the one that just happened
// is the one the operator reads first.
t.test('rollbacks newest first', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const canary = admin.status.routes.find((r) => r.name === 'catalog')!.canary!
  const at = (minutesAgo: number): string => new Date(Date.now() - minutesAgo * 60_000).toISOString()
  canary.rollbacks = [
    { at: at(30), previousWeight: 10, requests: 200, errors: 20, errorRatePercent: 10 },
    { at: at(20), previousWeight: 20, requests: 400, errors: 60, errorRatePercent: 15 },
  ]
  canary.weightSource = 'rollback'
  admin.changed()
  const items = page.locator('tr[data-route="catalog"] .rollbacks li')
  await waitUntil(async () => await items.count() === 2)
  const texts = await items.allInnerTexts()
  t.match(texts[0], /from 20%: 60\/400 failed \(15\.0%\)/, 'the newest first')
  t.match(texts[1], /from 10%: 20\/200 failed \(10\.0%\)/)
})

// The canary's Set button sends only a weight from 0 to 100: a typed 150 is not sent (the admin API would refuse
// it, and the page would announce a failure for a slip of the keyboard); a valid one typed after it is.
t.test('a weight above 100 is not sent', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const row = page.locator('tr[data-route="catalog"]')
  const set = row.getByRole('button', { name: 'set the canary weight of route catalog' })
  await row.getByRole('spinbutton').fill('150')
  await set.click()
  await row.getByRole('spinbutton').fill('20')
  await set.click()
  await waitUntil(() => admin.calls.length >= 1)
  t.same(admin.calls.map((c) => c.body), [{ weight: 20 }], 'only the valid weight went out')
})

// Routes are told apart by their id: two routes on one path that differ only by the headers they match are two
// rows, and the canary control of an unnamed route sets the weight of that route (POST /routes/<id>/canary).
t.test('two unnamed routes on one path are two rows, each with its own canary control', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.status.routes.push(
    { id: '*/beta {x-beta=1}', path: '/beta', pool: 'catalog', headers: { 'x-beta': '1' }, canary: { pool: 'catalog-canary', weight: 5, weightSource: 'file' } },
    { id: '*/beta', path: '/beta', pool: 'catalog', canary: { pool: 'catalog-canary', weight: 0, weightSource: 'file' } },
  )
  admin.changed()
  const rows = page.locator('table.routes tbody tr')
  await waitUntil(async () => await rows.count() === admin.status.routes.length)
  t.same(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-route'))).then((keys) => keys.slice(-2)), ['*/beta {x-beta=1}', '*/beta'])

  const plain = page.locator('tr[data-route="*/beta"]')
  await plain.getByRole('spinbutton').fill('30')
  await plain.getByRole('button', { name: 'set the canary weight of route */beta' }).click()
  await waitUntil(() => admin.calls.length === 1)
  t.same(admin.calls[0], { method: 'POST', url: `/routes/${encodeURIComponent('*/beta')}/canary`, authorization: undefined, body: { weight: 30 } })
  await waitUntil(async () => /canary catalog-canary: 30% \(set by operator\)/.test(await plain.innerText()))
  t.match(await page.locator('tr[data-route="*/beta {x-beta=1}"]').innerText(), /canary catalog-canary: 5%/, 'the other route keeps its weight')
})

// A canary's rollbacks list shows the newest three, however many the gateway reports: the row stays readable, and
// the oldest are the ones left out.
t.test('at most three rollbacks, the oldest left out', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const canary = admin.status.routes.find((r) => r.name === 'catalog')!.canary!
  const at = (minutesAgo: number): string => new Date(Date.now() - minutesAgo * 60_000).toISOString()
  canary.rollbacks = [50, 40, 30, 20, 10].map((minutesAgo, i) => ({ at: at(minutesAgo), previousWeight: 10 * (i + 1), requests: 100, errors: 10, errorRatePercent: 10 }))
  canary.weightSource = 'rollback'
  admin.changed()
  const items = page.locator('tr[data-route="catalog"] .rollbacks li')
  await waitUntil(async () => await items.count() > 0)
  const texts = await items.allInnerTexts()
  t.equal(texts.length, 3)
  t.same(texts.map((x) => /from (\d+)%/.exec(x)?.[1]), ['50', '40', '30'], 'the three newest, newest first')
})

// A split route whose reads fell back to its write pool is marked as a warning in its row (class "split tone-warn"),
// and the mark goes once reads are back on the replicas: the row must not stay alarming after the recovery.
t.test('fallen-back reads are marked in the row, and unmarked once they are back', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const split = admin.status.routes.find((r) => r.name === 'orders')!.split!
  const line = page.locator('tr[data-route="orders"] .split')
  t.equal(await line.getAttribute('class'), 'split')
  split.fallbackActive = true
  admin.changed()
  await waitUntil(async () => /fell back/.test(await line.innerText()))
  t.equal(await line.getAttribute('class'), 'split tone-warn')
  split.fallbackActive = false
  admin.changed()
  await waitUntil(async () => /reads →/.test(await line.innerText()))
  t.equal(await line.getAttribute('class'), 'split')
})

// A route whose pool the status does not list says so in its row (" · unknown pool") rather than showing no pool
// state at all: the operator sees the route points at nothing the page can describe.
t.test('a route on a pool the status does not list reads "unknown pool"', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.status.routes.push({ id: '*/api/ghost', name: 'ghost', path: '/api/ghost', pool: 'ghost' })
  admin.changed()
  const state = page.locator('tr[data-route="ghost"] .route-pool-state')
  await state.waitFor()
  t.equal(await state.textContent(), ' · unknown pool')
})
