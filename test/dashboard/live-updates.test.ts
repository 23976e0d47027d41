// The page follows the gateway without a reload: a target turning unhealthy, a breaker opening, new events.
import t from 'tap'
import { openDashboard, tile } from './dashboard-page.ts'

t.test('state changes reach the page within 3 s over the live stream', async (t) => {
  const { admin, page, errors } = await openDashboard(t)
  const target = tile(page, 'payments', '10.0.1.11:8080')
  t.equal(await target.getAttribute('data-state'), 'healthy')
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1 }) // gone if the page reloads

  Object.assign(admin.target('payments', '10.0.1.11:8080'), {
    state: 'unhealthy',
    lastCheck: { ok: false, at: new Date().toISOString(), error: 'connect ECONNREFUSED' },
  })
  Object.assign(admin.pool('users'), { circuit: 'open', circuitRetryAfterSeconds: 30 })
  Object.assign(admin.target('users', '10.0.2.22:8080'), { state: 'draining', inFlight: 3, tunnels: 2 })
  admin.publish({ kind: 'breaker', pool: 'users', message: 'circuit breaker open' })

  const started = Date.now()
  await page.locator('[data-pool="payments"] li.tile[data-target="10.0.1.11:8080"][data-state="unhealthy"]').waitFor()
  t.ok(Date.now() - started < 3000, 'unhealthy within 3 s')
  t.match(await target.innerText(), /✗\s*unhealthy/, 'a word and an icon, not only a colour')
  t.match(await target.getAttribute('class'), /tone-bad/)
  await page.locator('[data-pool="users"] li.tile[data-target="10.0.2.22:8080"][data-state="draining"]').waitFor()
  const users22 = await tile(page, 'users', '10.0.2.22:8080').innerText()
  t.match(users22, /in flight\s*3\b/, 'the in-flight count')
  t.match(users22, /WebSocket tunnels\s*2\b/, 'open tunnels are named, on a line of their own')

  const circuit = page.locator('[data-pool="users"] [data-circuit]')
  t.equal(await circuit.getAttribute('data-circuit'), 'open')
  t.match(await circuit.innerText(), /circuit open · half-open in (29|30) s/)
  t.match(await page.locator('.attention').innerText(), /pool users: circuit open/)
  t.match(await page.locator('.attention').innerText(), /10\.0\.1\.11:8080 in payments: unhealthy: connect ECONNREFUSED/)

  const newest = page.locator('.feed li.event').first()
  t.equal(await newest.getAttribute('data-kind'), 'breaker')
  t.match(await newest.innerText(), /pool users[\s\S]*circuit breaker open/)

  // and back
  admin.target('payments', '10.0.1.11:8080').state = 'healthy'
  admin.changed()
  await page.locator('[data-pool="payments"] li.tile[data-target="10.0.1.11:8080"][data-state="healthy"]').waitFor()
  t.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'never reloaded')
  t.same(errors, [])
})
