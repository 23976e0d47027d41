// GET /live, the dashboard's stream, carries what /status does: with a token set it wants the token (the page sends
// it), and it takes 32 watchers at once; the 33rd is answered 503 too_many_watchers until one leaves.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { connectSse, type SseClient } from '../dashboard/sse-client.ts'

const TOKEN = 'admin-token-0123456789'

t.test('with a token set, /live is 401 without it or with a wrong one, and streams with it', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: TOKEN } }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }] as Record<string, string>[]) {
    const refused = await connectSse(`${admin}/live`, headers)
    t.teardown(() => refused.close())
    t.equal(refused.status, 401, JSON.stringify(headers))
    if (refused.status === 200) continue // streaming: ended would never come
    await refused.ended
    t.equal(refused.of('snapshot').length, 0, 'no state sent')
  }
  const watcher = await connectSse(`${admin}/live`, { authorization: `Bearer ${TOKEN}` })
  t.teardown(() => watcher.close())
  t.equal(watcher.status, 200)
  await watcher.waitFor('snapshot', 1)
})

t.test('the 33rd watcher is refused with 503 too_many_watchers; a place that frees up is taken again', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const watchers: SseClient[] = []
  t.teardown(async () => { for (const w of watchers) w.close(); await gw.close(); await u.close() })
  for (let i = 0; i < 32; i++) watchers.push(await connectSse(`${admin}/live`))
  t.ok(watchers.every((w) => w.status === 200), '32 watchers streaming')

  const refused = await fetch(`${admin}/live`)
  t.equal(refused.status, 503)
  if (refused.status === 503) t.equal((await refused.json() as { error: string }).error, 'too_many_watchers')
  else await refused.body?.cancel() // streaming: the body would never end

  watchers.shift()!.close()
  // the gateway sees the watcher leave when its socket closes
  await waitFor(async () => {
    const next = await connectSse(`${admin}/live`)
    watchers.push(next)
    return next.status === 200
  })
  t.pass('a freed place is taken again')
})

t.test('an event the gateway records reaches a watcher as an event frame', async (t) => {
  // the page's event feed is fed by these frames: without them an operator's own action, a failover or a rejected
  // reload shows only on a full page load
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const watcher = await connectSse(`${admin}/live`)
  t.teardown(async () => { watcher.close(); await gw.close(); await u.close() })
  t.equal(watcher.status, 200)
  await watcher.waitFor('snapshot', 1)
  const id = new URL(u.url).host
  const disabled = await fetch(`${admin}/pools/pay/targets/${encodeURIComponent(id)}/disable`, { method: 'POST' })
  t.equal(disabled.status, 200)
  await disabled.arrayBuffer()
  const [frame] = await watcher.waitFor('event', 1)
  t.match(frame!.data, { kind: 'target', pool: 'pay', target: id })
  t.match(frame!.data, gw.gateway.events.list().find((e) => e.kind === 'target'), 'the event recorded')
})
