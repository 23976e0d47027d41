// The operator's actions and the admin token: failures announced, tooltips, one action at a time, encoded pool
// names, the token form; and the page as a whole: behind a path prefix, its header, gateway text kept as text, the
// chart following the window's width.
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { launch, SHOWN_WITHIN_MS } from './browser.ts'
import { openDashboard, tile } from './dashboard-page.ts'
import { startFakeAdmin } from './fixture.ts'
import { waitUntil } from './wait.ts'

const ROTATED_TOKEN = 'tok-r0t'
const MESSAGE = 'the last healthy target of pool users cannot be drained'
const TITLE_TOKEN = 'tok-3c1'
const FORM_TOKEN = 'tok-55e'
const TRIMMED_TOKEN = 'tok-9b7'
const browser = await launch(t)

// An action answered 401 (the token was rotated on the gateway while the page was open) forgets the stored token
// and asks for a new one: keeping it would send a dead credential with every later action.
t.test('a 401 on an action forgets the token', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: ROTATED_TOKEN }, waitLive: false, browser })
  await page.locator('#token').fill(ROTATED_TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  await page.route('**/pools/users/targets/*/drain', (route) => route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: 'unauthorized', message: 'a valid bearer token is required' }) }))
  await tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ }).click()
  await page.locator('#action-status.tone-bad').waitFor()
  t.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), null)
  t.equal(await page.locator('#token').getAttribute('placeholder'), 'admin token')
  t.ok(await page.locator('#reload').isDisabled(), 'actions off until a token is given again')
})

// A refused action is announced with the admin API's own explanation (its "message"), so the operator learns why
// (e.g. "the last healthy target cannot be drained"), not only that it failed.
t.test("a refused action shows the API's message", async (t) => {
  const { page } = await openDashboard(t, { browser })
  await page.route('**/pools/users/targets/*/drain', (route) => route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: 'conflict', message: MESSAGE }) }))
  await tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ }).click()
  const status = page.locator('#action-status.tone-bad')
  await status.waitFor()
  t.match(await status.innerText(), /failed \(409\)/)
  t.ok((await status.innerText()).includes(MESSAGE), 'the reason given by the API')
})

// A disabled control's tooltip says why ("enter the admin token above."); once the reason is gone (the token was
// given) the tooltip must go too, or an enabled button keeps telling the operator it cannot be used.
t.test('the reason tooltip is removed once the action is possible', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: TITLE_TOKEN }, waitLive: false, browser })
  const reload = page.locator('#reload')
  await page.locator('#reload[title]').waitFor()
  t.ok(await reload.isDisabled())
  await page.locator('#token').fill(TITLE_TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await reload.isEnabled())
  t.equal(await reload.getAttribute('title'), null, 'no tooltip left on an enabled button')
})

// An action whose request never got an answer (the admin listener is down or the network dropped it) says so:
// "failed (unreachable)", not a made-up HTTP status 0.
t.test('an action with no answer is announced as unreachable', async (t) => {
  const { page } = await openDashboard(t, { browser })
  await page.route('**/pools/users/targets/*/drain', (route) => route.abort('connectionrefused'))
  await tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ }).click()
  const status = page.locator('#action-status.tone-bad')
  await status.waitFor()
  t.match(await status.innerText(), /failed \(unreachable\)/)
})

// A blank token (only spaces) is no token: the page keeps asking for one and never sends "Authorization: Bearer "
// with nothing after it (a request the admin listener would count as a failed login).
t.test('submitting spaces sets no token', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: 'tok-1' }, waitLive: false, browser })
  await page.locator('[data-connection="unauthorized"]').waitFor()
  await page.locator('#token').fill('   ')
  // the submit restarts the stream: its request is the one to look at
  const restarted = page.waitForRequest((request) => request.url().endsWith('/live'))
  await page.locator('#token-form button[type="submit"]').click()
  t.equal((await restarted).headers().authorization, undefined, 'no Authorization header sent')
  t.ok(await page.locator('#forget-token').isHidden(), 'no token to forget')
  t.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), null)
})

// With a token required, the token field stays offered after the token was given (to replace it, its placeholder
// says one is set) and a Forget button appears: an operator on a shared screen must be able to drop the token.
t.test('once a token is set: the field says so and Forget is offered', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: FORM_TOKEN }, waitLive: false, browser })
  await page.locator('[data-connection="unauthorized"]').waitFor()
  t.ok(await page.locator('#forget-token').isHidden(), 'nothing to forget yet')
  await page.locator('#token').fill(FORM_TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await page.locator('#token-form').isVisible(), 'the field stays, to replace the token')
  t.equal(await page.locator('#token').getAttribute('placeholder'), 'token set: type to replace')
  t.ok(await page.locator('#forget-token').isVisible(), 'Forget is offered')
  await page.locator('#forget-token').click()
  t.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), null)
  t.ok(await page.locator('#reload').isDisabled(), 'actions off again')
})

// A token pasted with surrounding spaces or a newline (as copied from a terminal) is trimmed before use: the
// admin listener compares it exactly, and an untrimmed one would be rejected and forgotten.
t.test('the token is trimmed', async (t) => {
  const { page } = await openDashboard(t, { admin: { token: TRIMMED_TOKEN }, waitLive: false, browser })
  await page.locator('[data-connection="unauthorized"]').waitFor()
  await page.locator('#token').fill(`  ${TRIMMED_TOKEN} `)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  t.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken')), TRIMMED_TOKEN)
})

// One action at a time: while one is in flight, every other action control on the page is disabled (target
// buttons, switchover, canary weight), so an operator cannot fire a second change before seeing the first's outcome.
t.test('while a drain is in flight the other controls are disabled, and enabled after', async (t) => {
  const { page } = await openDashboard(t, { browser })
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let arrived: () => void = () => {}
  const inFlight = new Promise<void>((resolve) => { arrived = resolve })
  await page.route('**/pools/users/targets/*/drain', async (route) => {
    arrived()
    await held
    await route.continue()
  })
  t.teardown(() => release())
  await tile(page, 'users', '10.0.2.21:8080').getByRole('button', { name: /^drain/ }).click()
  await inFlight
  const controls = {
    'another target': tile(page, 'catalog', '10.0.3.31:8080').getByRole('button', { name: /^drain/ }),
    switchover: page.locator('[data-pool="payments"]').getByRole('button', { name: /^Switch to/ }),
    'canary Set': page.locator('tr[data-route="catalog"]').getByRole('button', { name: /^set the canary weight/ }),
    'canary number': page.locator('tr[data-route="catalog"]').getByRole('spinbutton'),
  }
  for (const [name, control] of Object.entries(controls)) t.ok(await control.isDisabled(), `${name} disabled while busy`)
  release()
  await page.locator('#action-status.tone-ok').waitFor()
  for (const [name, control] of Object.entries(controls)) t.ok(await control.isEnabled(), `${name} enabled after`)
})

// One action at a time, even before the first snapshot has drawn the page (the stream refused, so nothing marks the
// Reload button busy): a second click while a reload is in flight sends no second POST /reload.
t.test('two clicks on Reload while the first is in flight: one request', async (t) => {
  const { page } = await openDashboard(t, { waitLive: false, admin: {}, browser })
  await page.route('**/live', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"too_many_watchers","message":"full"}' }))
  await page.reload()
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  t.teardown(() => release())
  let posts = 0
  let arrived: () => void = () => {}
  const first = new Promise<void>((resolve) => { arrived = resolve })
  await page.route('**/reload', async (route) => {
    posts++
    arrived()
    await held
    await route.continue()
  })
  await page.locator('#reload:enabled').waitFor()
  await page.locator('#reload').click()
  await first
  await page.evaluate(() => document.getElementById('reload')!.click())
  release()
  await page.locator('#action-status.tone-bad').waitFor()
  t.equal(posts, 1, 'one POST /reload')
})

// A pool's name goes into the action's path percent-encoded: a name holding '#' or '?' sent raw would cut the path
// short and act on another pool, or on none (404).
t.test('drain and switchover of a pool named "blue#2?x"', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const name = 'blue#2?x'
  admin.status.pools[name] = {
    circuit: 'closed', activeTier: 'primary', switchover: 'auto', hold: 'none',
    targets: [
      { id: '10.0.7.1:80', url: 'http://10.0.7.1:80', backup: false, weight: 1, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0 },
      { id: '10.0.7.2:80', url: 'http://10.0.7.2:80', backup: true, weight: 1, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0 },
    ],
  }
  admin.changed()
  const target = tile(page, name, '10.0.7.1:80')
  await target.waitFor()
  await target.getByRole('button', { name: /^drain/ }).click()
  // (a loaded host: the new card comes near, is drawn and laid out, before the click lands)
  await waitUntil(() => admin.calls.length === 1, SHOWN_WITHIN_MS)
  t.equal(admin.calls[0]!.url, `/pools/${encodeURIComponent(name)}/targets/${encodeURIComponent('10.0.7.1:80')}/drain`)
  await page.locator(`#action-status.tone-ok`).waitFor()
  await page.locator(`[data-pool="${name}"]`).getByRole('button', { name: `Switch to backups (pool ${name})` }).click()
  await waitUntil(() => admin.calls.length === 2, SHOWN_WITHIN_MS)
  t.equal(admin.calls[1]!.url, `/pools/${encodeURIComponent(name)}/switchover`)
  t.equal(admin.pool(name).activeTier, 'backup', 'the pool named was switched')
})

// The page works behind a reverse proxy that serves the admin listener under a path prefix (/gw/ here): every
// request it makes (the live stream, the config, the history, the actions) resolves against the page, never
// against the host's root, which belongs to something else behind such a proxy.
t.test('served under /gw/, the page goes live and its actions reach the admin listener', async (t) => {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  const target = new URL(admin.url)
  const outside: string[] = []
  // strips /gw, answers 404 to anything outside it
  const proxy = createServer((req, res) => {
    if (!req.url!.startsWith('/gw/')) {
      outside.push(`${req.method} ${req.url}`)
      res.writeHead(404).end()
      return
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url!.slice(3), headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { proxy.closeAllConnections(); proxy.close(() => resolve()) }))
  const origin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

  const { page } = await browser.open(origin)
  t.teardown(() => page.close())
  await page.goto(`${origin}/gw/`)
  await page.locator('[data-connection="live"]').waitFor()
  await page.locator('#reload').click()
  await waitUntil(() => admin.calls.length === 1)
  t.equal(admin.calls[0]!.url, '/reload')
  t.same(outside, [], 'nothing asked of the host root')
})

// The header names the loaded config by version and the first 8 characters of its hash, the short form operators
// compare with what their deploy printed.
t.test('version and short config hash', async (t) => {
  const { page } = await openDashboard(t, { browser })
  t.match(await page.locator('#config').innerText(), /^v0\.1\.0 · config 9f2c41d7 loaded \d\d:\d\d:\d\d$/)
})

// Whatever the gateway sends (event messages, pool and target names, check errors) is shown as text, never parsed
// as HTML: an upstream's error string or a config value that holds markup must not become elements on the
// operator's page (the dashboard holds the admin token).
t.test('markup in an event message is shown literally and creates no element', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const markup = '<img id="injected" src="data:,"><b id="bold">x</b>'
  admin.publish({ kind: 'reload', message: markup })
  const newest = page.locator('.feed li.event .event-message').first()
  await newest.filter({ hasText: 'injected' }).waitFor()
  t.equal(await newest.textContent(), markup, 'the text as sent')
  t.equal(await page.locator('#injected, #bold').count(), 0, 'no element made of it')
})

// A pool's chart follows its card's width: a window made narrower (a phone turned, a split screen) redraws the
// chart to fit rather than leaving it sticking out of the card.
t.test('the chart narrows with the window', async (t) => {
  const { page } = await openDashboard(t, { browser })
  const canvas = page.locator('[data-pool="payments"] .chart canvas')
  await canvas.waitFor()
  const wide = (await canvas.boundingBox())!.width
  await page.setViewportSize({ width: 420, height: 800 })
  await waitUntil(async () => (await canvas.boundingBox())!.width < wide, 3000)
  const card = (await page.locator('[data-pool="payments"]').boundingBox())!
  const box = (await canvas.boundingBox())!
  t.ok(box.x + box.width <= card.x + card.width + 0.5, `inside its card (${box.width} px)`)
})

// Without a token on a non-loopback admin host, actions cannot work: the page disables them and says why.
const REASON = 'no admin token is configured and the admin listener is not on loopback'

t.test('actions are disabled, and the page says why', async (t) => {
  const { admin, page, errors } = await openDashboard(t, { browser, admin: { actionsDisabledReason: REASON } })
  t.equal(await page.locator('#notice').innerText(), `Actions disabled: ${REASON}`)
  const controls = page.locator('main button:visible, #reload, tr[data-route] input:visible')
  const states = await controls.evaluateAll((nodes) => nodes.map((n) => [n.getAttribute('aria-label') ?? n.textContent, (n as HTMLButtonElement).disabled, n.getAttribute('title')]))
  t.ok(states.length >= 20, `${states.length} controls`)
  for (const [name, disabled] of states) t.ok(disabled, `${name} disabled`)
  t.ok(states.filter(([, , title]) => title === REASON).length >= 20, 'their tooltips say why')
  // even a scripted click goes nowhere
  await page.evaluate(() => { for (const b of document.querySelectorAll('button')) b.click() })
  await page.waitForTimeout(200)
  t.same(admin.calls, [])
  t.same(errors, [])
})

// The header's readiness badge is a warning when the gateway is not ready (draining for shutdown): a load balancer
// is taking it out of rotation, and a badge left green would hide that from the operator.
t.test('the readiness badge warns while the gateway drains', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  t.equal(await page.locator('#readiness').getAttribute('class'), 'badge tone-ok')
  ;(admin.status as { readiness: string }).readiness = 'draining'
  admin.changed()
  await waitUntil(async () => await page.locator('#readiness').innerText() === 'draining')
  t.equal(await page.locator('#readiness').getAttribute('class'), 'badge tone-warn')
})

// A live stream refused for want of a token is an alarm in the header (the connection badge in "bad"), not the
// "connecting" warning a page shows for a moment after every start: nothing will change until a token is entered.
t.test('the connection badge alarms when the stream is refused for a token', async (t) => {
  const { page } = await openDashboard(t, { browser, admin: { token: 'tok-b4d' }, waitLive: false })
  await page.locator('[data-connection="unauthorized"]').waitFor()
  t.equal(await page.locator('#connection').getAttribute('class'), 'badge tone-bad')
})
