// README (hot reload): a reload that changes admin.token makes "the old token stop working at once". A /live stream
// (the dashboard's: every /status snapshot and event) is authorised once, when it connects: one opened with the old
// token must not keep streaming the gateway's state after the rotation. Every stream ends; the page reconnects and
// is asked for the token in force. A reload that keeps the token leaves streams alone.
// (src/app.ts, apply: `live?.disconnectAll()`; src/admin/live.ts, disconnectAll.)
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { connectSse } from '../dashboard/sse-client.ts'

const OLD = 'old-token-0123456789abc'
const NEW = 'new-token-9876543210xyz'

t.test('a reload that rotates admin.token ends /live streams opened with the old one; one that keeps it does not', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const config = (token: string, weight = 1): GatewayConfig => ({ pools: { p: { targets: [{ url: u.url, weight }] } }, routes: [{ path: '/', pool: 'p' }], admin: { token } })
  let next = config(OLD)
  const gw = await startGateway(next, { defaultMetrics: false, env: {}, load: async () => validateConfig(next) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })

  const watcher = await connectSse(`${admin}/live`, { authorization: `Bearer ${OLD}` })
  t.teardown(() => watcher.close())
  t.equal(watcher.status, 200)
  await watcher.waitFor('snapshot', 1)

  // the same token, another weight: the stream goes on
  next = config(OLD, 2)
  t.equal((await gw.gateway.reload()).result, 'success')
  let ended = false
  void watcher.ended.then(() => { ended = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(ended, false, 'a reload keeping the token keeps the stream')

  next = config(NEW, 2)
  t.equal((await gw.gateway.reload()).result, 'success')
  await watcher.ended
  t.pass('the stream opened with the old token ended')
  const again = await connectSse(`${admin}/live`, { authorization: `Bearer ${OLD}` })
  t.teardown(() => again.close())
  t.equal(again.status, 401, 'reconnecting with the old token is refused')
  const renewed = await connectSse(`${admin}/live`, { authorization: `Bearer ${NEW}` })
  t.teardown(() => renewed.close())
  t.equal(renewed.status, 200, 'the new token streams')
})
