// The dashboard's server side over real sockets: the page and its bundled assets, config, history, live stream.
import { createHash } from 'node:crypto'
import t from 'tap'
import type { DashboardConfig, LiveSnapshot, TrafficSummary } from '../../src/admin/dashboard/wire.ts'
import Fastify from 'fastify'
import { registerDashboard, toDashboardStatus } from '../../src/admin/dashboard.ts'
import { TrafficHistory } from '../../src/admin/history.ts'
import type { StatusDocument } from '../../src/admin/status-types.ts'
import { healthyStatus, startFakeAdmin } from './fixture.ts'
import { connectSse } from './sse-client.ts'

t.test('the page and its assets come from the admin listener, with a same-origin-only policy', async (t) => {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  const cases: [path: string, type: RegExp][] = [
    ['/', /^text\/html; charset=utf-8/],
    ['/dashboard/app.js', /^text\/javascript; charset=utf-8/],
    ['/dashboard/app.css', /^text\/css; charset=utf-8/],
  ]
  for (const [path, type] of cases) {
    const res = await fetch(admin.url + path)
    t.equal(res.status, 200, path)
    t.match(res.headers.get('content-type'), type, path)
    t.match(res.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/, path)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', path)
    const etag = res.headers.get('etag')
    t.ok(etag, path)
    // a digest of the body (RFC 9110 §8.8.3): an upgraded gateway's new app.js gets a new tag, never a 304 for the old
    t.equal(etag, `"${createHash('sha256').update(await res.text()).digest('base64url').slice(0, 22)}"`, `${path}: the tag follows the body`)
    const again = await fetch(admin.url + path, { headers: { 'if-none-match': etag! } })
    t.equal(again.status, 304, `${path} unchanged`)
    // compared weakly, any tag of a list, or '*' (RFC 9110 §13.1.2): nginx's gzip in front makes the ETag weak
    for (const header of [`W/${etag!}`, `"other", ${etag!}`, '*']) {
      t.equal((await fetch(admin.url + path, { headers: { 'if-none-match': header } })).status, 304, `${path}, If-None-Match ${header}`)
    }
    // '*' matches alone, never as an element of a list (If-None-Match = "*" / #entity-tag)
    for (const header of ['"other"', '"other", *']) {
      t.equal((await fetch(admin.url + path, { headers: { 'if-none-match': header } })).status, 200, `${path}, If-None-Match ${header}`)
    }
  }
  const html = await (await fetch(admin.url)).text()
  t.match(html, /<script type="module" src="dashboard\/app\.js"><\/script>/)
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'nothing referenced from another origin')
  const css = await (await fetch(`${admin.url}/dashboard/app.css`)).text()
  t.match(css, /\.uplot/, "uPlot's styles are bundled in")
  t.notMatch(css, /@import/, 'imports resolved at bundle time')
  const js = await (await fetch(`${admin.url}/dashboard/app.js`)).text()
  t.notMatch(js, /\bimport\s*[({"']|from\s*["']/, 'one self-contained module: no imports left')
})

t.test('config.json tells the page whether actions need a token, or why they are off', async (t) => {
  const cases: [label: string, options: Parameters<typeof startFakeAdmin>[0], expected: DashboardConfig][] = [
    ['open loopback admin', {}, { tokenRequired: false }],
    ['token configured', { token: 's3cret' }, { tokenRequired: true }],
    ['no token on a public host', { actionsDisabledReason: 'no admin token is configured and the admin listener is not on loopback' },
      { tokenRequired: false, actionsDisabledReason: 'no admin token is configured and the admin listener is not on loopback' }],
  ]
  for (const [label, options, expected] of cases) {
    const admin = await startFakeAdmin(options)
    const res = await fetch(`${admin.url}/dashboard/config.json`)
    t.equal(res.status, 200, label)
    // never kept by a browser or a proxy: a token set or removed since must show at the next load
    t.equal(res.headers.get('cache-control'), 'no-store', label)
    t.same(await res.json(), expected, label)
    await admin.close()
  }
})

t.test('GET /history: five minutes per pool at most, and every target\'s last minute', async (t) => {
  const admin = await startFakeAdmin({ seedSeconds: 400 })
  t.teardown(() => admin.close())
  const res = await fetch(`${admin.url}/history`)
  // traffic of the last minutes is stale at once: a cached copy would draw a gap where there was traffic
  t.equal(res.headers.get('cache-control'), 'no-store')
  const history = await res.json() as TrafficSummary
  t.same(Object.keys(history.pools).sort(), Object.keys(admin.status.pools).sort())
  const payments = history.pools.payments!
  t.equal(payments.t.length, 300, 'a full ring: 300 points of 400 s')
  t.ok(payments.t.every((v, i) => i === 0 || v > payments.t[i - 1]!), 'oldest first')
  t.ok(payments.rps.every((v) => v > 0), 'traffic every second')
  t.same(Object.keys(history.targets.payments!).sort(), ['10.0.1.11:8080', '10.0.1.12:8080', '10.0.9.11:8080'])
})

t.test('GET /live: backlog, then snapshots of status and recent traffic; state changes go out', async (t) => {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  admin.events.push({ at: new Date().toISOString(), kind: 'reload', message: 'config reloaded: routes +0 -0 ~0' })
  const client = await connectSse(`${admin.url}/live`)
  t.teardown(() => client.close())
  const [first] = await client.waitFor('snapshot', 1)
  t.same(client.of('backlog')[0]!.data, admin.events)
  const snapshot = first!.data as LiveSnapshot
  const { routes, ...rest } = admin.status
  t.same(snapshot.status, rest, 'the status but its routes')
  t.same(client.of('routes').at(-1)!.data, routes, 'the routes, in a message of their own before the snapshot')
  t.same(snapshot.routeState, {}, 'none of them again')
  t.ok(Math.abs(snapshot.now - Date.now()) < 5000, 'the gateway time')
  t.ok(snapshot.traffic.pools.payments!.t.length <= 5, 'only the last few points')
  t.ok(snapshot.traffic.targets.payments!['10.0.1.11:8080'], 'every target\'s minute')

  admin.target('payments', '10.0.1.11:8080').state = 'unhealthy'
  admin.publish({ kind: 'target', pool: 'payments', target: '10.0.1.11:8080', message: 'target unhealthy' })
  const [event] = await client.waitFor('event', 1)
  t.match(event!.data, { kind: 'target', target: '10.0.1.11:8080' })
  await t.resolves(async () => {
    const deadline = Date.now() + 3000
    while (Date.now() < deadline) {
      const last = client.of('snapshot').at(-1)!.data as LiveSnapshot
      if (last.status.pools.payments!.targets[0]!.state === 'unhealthy') return
      await new Promise((r) => setTimeout(r, 20))
    }
    throw new Error('no snapshot with the unhealthy target')
  })
})

t.test('closing the admin listener ends the live streams', async (t) => {
  const admin = await startFakeAdmin()
  const client = await connectSse(`${admin.url}/live`)
  t.teardown(() => client.close())
  await client.waitFor('snapshot', 1)
  t.equal(admin.live.clients, 1)
  await admin.close()
  await client.ended
  t.equal(admin.live.clients, 0)
})

// The traffic graph moves with each one-second sample, not only with the slow refresh: a sample marks the live
// stream dirty, so a snapshot with the new point goes out within the throttle. Without it a watcher's graph would
// stand still for a whole refresh period (here an hour) while traffic flows.
t.test('a traffic sample sends a snapshot with the new point within the throttle', { timeout: 10_000 }, async (t) => {
  const history = new TrafficHistory()
  history.track('payments', ['10.0.1.11:8080'])
  const admin = Fastify()
  registerDashboard(admin, {
    status: healthyStatus, events: () => [], history, auth: { tokenRequired: false },
    live: { minIntervalMs: 0, refreshMs: 3_600_000, heartbeatMs: 3_600_000 },
  })
  const url = await admin.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => admin.close())
  const client = await connectSse(`${url}/live`)
  t.teardown(() => client.close())
  await client.waitFor('snapshot', 1)
  history.record('payments', '10.0.1.11:8080', 5, true)
  history.sample(Date.now())
  const snapshots = await client.waitFor('snapshot', 2, 5000)
  const traffic = (snapshots[1]!.data as LiveSnapshot).traffic
  t.equal(traffic.pools.payments!.t.length, 1, 'the new point is in the snapshot')
})

// The page's split view: the reason for a fallback is given only when reads did fall back; a route whose
// replicas serve must not carry a reason that says they fell back.
t.test('a read/write split carries a fallback reason only while reads fell back', async (t) => {
  const route = (fallback: boolean) => ({ id: '*/orders', path: '/orders', pool: 'orders', reads: { pool: 'orders-replicas', fallback, stickyAfterWriteMs: 5000 } })
  const status = (fallback: boolean) => toDashboardStatus({ pools: {}, routes: [route(fallback)] } as unknown as StatusDocument)
  const serving = status(false).routes[0]!.split!
  t.same(serving, { readPool: 'orders-replicas', fallbackActive: false, stickyAfterWriteMs: 5000 })
  t.notOk('fallbackReason' in serving, 'no reason while the replicas serve')
  const fellBack = status(true).routes[0]!.split!
  t.equal(fellBack.fallbackActive, true)
  t.type(fellBack.fallbackReason, 'string')
})
