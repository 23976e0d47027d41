// An operator's switchover is told as such in the event feed (kind switchover, at info), not as a failover; and
// every mutating admin call, refused ones included, is logged at info with method, path, peer and status.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const TOKEN = 'admin-token-0123456789'

t.test('an operator\'s switchover in the event feed and the log', async (t) => {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const gw = await startGateway({ pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })
  t.equal((await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"backup"}' })).status, 200)
  const { events } = await (await fetch(`${admin}/events`)).json() as { events: { kind: string; pool?: string }[] }
  t.match(events.at(-1), { kind: 'switchover', pool: 'pay' })
  t.notOk(events.some((e) => e.kind === 'tier'), 'not reported as a failover')
  const logged = gw.logs.filter((l) => l.event === 'switchover')
  t.equal(logged.length, 1)
  t.equal(logged[0]!.level, 30, 'at info')
})

t.test('mutating calls are logged with method, path, peer and status', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: TOKEN } }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const target = `/pools/pay/targets/${encodeURIComponent(`127.0.0.1:${u.port}`)}/drain`
  t.equal((await fetch(admin + target, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200)
  t.equal((await fetch(`${admin}/reload`, { method: 'POST' })).status, 401)
  t.equal((await fetch(`${admin}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200)
  const calls = gw.logs.filter((l) => typeof l.method === 'string' && typeof l.peer === 'string' && l.path !== undefined)
  t.strictSame(calls.map((l) => [l.level, l.method, l.path, l.peer, l.status]), [
    [30, 'POST', target, '127.0.0.1', 200],
    [40, 'POST', '/reload', '127.0.0.1', 401],
  ], 'each POST once, at info (refused: warn), granted reads not logged')
})
