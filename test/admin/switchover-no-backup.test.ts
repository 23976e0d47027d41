// A switchover to the backups of a pool that has none is refused (409 no_backup_targets), as is a failback there, and arms nothing: a later
// reload that adds a backup leaves traffic on the healthy primary.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('switchover without backups: 409 no_backup_targets, no hold, no move after a reload adds one', async (t) => {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const config = (targets: GatewayConfig['pools'][string]['targets']): GatewayConfig => ({ pools: { pay: { targets } }, routes: [{ path: '/', pool: 'pay' }] })
  let next = config([p1.url])
  const gw = await startGateway(next, { defaultMetrics: false, env: {}, load: async () => validateConfig(next) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })

  for (const body of ['{"to":"backup"}', undefined]) {
    const res = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) })
    t.equal(res.status, 409, `body ${body}`)
    t.equal((await res.json() as { error: string }).error, 'no_backup_targets')
  }
  t.match(gw.gateway.status().pools.pay, { activeTier: 'primary', switchover: 'auto' }, 'no hold armed')
  // a pool without backups holds nothing, so there is nothing to fail back from either
  for (const res of [await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '{"to":"primary"}', headers: { 'content-type': 'application/json' } }), await fetch(`${admin}/pools/pay/failback`, { method: 'POST' })]) {
    t.equal(res.status, 409, 'to primary too')
    t.equal((await res.json() as { error: string }).error, 'no_backup_targets')
  }

  next = config([p1.url, { url: b1.url, backup: true }])
  t.equal((await fetch(`${admin}/reload`, { method: 'POST' })).status, 200)
  const served = []
  for (let i = 0; i < 4; i++) served.push((await (await fetch(`${gw.url}/x`)).json() as { name: string }).name)
  t.strictSame(served, ['p1', 'p1', 'p1', 'p1'], 'the standby takes nothing')
  t.match(gw.gateway.status().pools.pay, { activeTier: 'primary', switchover: 'auto' })
})
