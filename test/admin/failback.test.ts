// The admin listener: pool state, and the operator's switchover / failback for Active-Standby pools.
import t from 'tap'
import type { Test as Tap } from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

interface PoolView { tier: string; failback: string; breaker: string; targets: { url: string; backup: boolean; available: boolean; healthy: boolean }[] }

async function setup (t: Tap) {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const gw = await startGateway({
    pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }], failback: 'manual' } },
    routes: [{ path: '/', pool: 'pay' }],
  })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })
  const runtime = gw.gateway.pools().get('pay')!
  const who = async (): Promise<string> => ((await (await fetch(`${gw.url}/x`)).json()) as { name: string }).name
  return { p1, b1, gw, admin, runtime, who }
}


t.test('GET /pools describes every pool: tier, breaker, targets', async (t) => {
  const { admin, p1, b1 } = await setup(t)
  const res = await fetch(`${admin}/pools`)
  t.equal(res.status, 200)
  const pools = await res.json() as Record<string, PoolView>
  t.equal(pools.pay!.tier, 'primary')
  t.equal(pools.pay!.failback, 'manual')
  t.equal(pools.pay!.breaker, 'closed')
  t.same(pools.pay!.targets.map((x) => [x.url, x.backup, x.available]), [[p1.url, false, true], [b1.url, true, true]])
})

t.test("failback 'manual': traffic stays on the standby until an operator fails back", async (t) => {
  const { admin, runtime, who } = await setup(t)
  const primary = runtime.pool.targets[0]!
  t.equal(await who(), 'p1')
  runtime.pool.setStatus(primary, { healthy: false })
  t.equal(await who(), 'b1', 'failover to the standby')
  runtime.pool.setStatus(primary, { healthy: true })
  t.equal(await who(), 'b1', 'the primary is back, but failback is manual')
  t.equal(runtime.pool.tier, 'backup')

  const res = await fetch(`${admin}/pools/pay/failback`, { method: 'POST' })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as PoolView).tier, 'primary')
  t.equal(await who(), 'p1', 'operator failback returns traffic to the primary')
})

t.test('switchover moves traffic to the standby on purpose; failback undoes it', async (t) => {
  const { admin, who } = await setup(t)
  t.equal(((await (await fetch(`${admin}/pools/pay/switchover`, { method: 'POST' })).json()) as PoolView).tier, 'backup')
  t.equal(await who(), 'b1')
  t.equal(((await (await fetch(`${admin}/pools/pay/failback`, { method: 'POST' })).json()) as PoolView).tier, 'primary')
  t.equal(await who(), 'p1')
})

t.test('an unknown pool is a 404 with a code', async (t) => {
  const { admin } = await setup(t)
  const res = await fetch(`${admin}/pools/nope/failback`, { method: 'POST' })
  t.equal(res.status, 404)
  t.equal(((await res.json()) as { error: string }).error, 'unknown_pool')
})
