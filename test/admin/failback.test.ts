// The admin listener: pool state, and the operator's switchover / failback for Active-Standby pools.
import t from 'tap'
import type { Test as Tap } from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

interface PoolView { activeTier: string; switchover: string; circuit: string; targets: { id: string; url: string; backup: boolean; state: string }[] }

const post = (url: string, body?: unknown): Promise<Response> => fetch(url, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })

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


t.test('GET /pools (the pools of /status) describes every pool: tier, breaker, targets', async (t) => {
  const { admin, p1, b1 } = await setup(t)
  const res = await fetch(`${admin}/pools`)
  t.equal(res.status, 200)
  const pools = await res.json() as Record<string, PoolView>
  t.equal(pools.pay!.activeTier, 'primary')
  t.equal(pools.pay!.switchover, 'auto')
  t.equal(pools.pay!.circuit, 'closed')
  t.same(pools.pay!.targets.map((x) => [x.url, x.backup, x.state]), [[p1.url, false, 'healthy'], [b1.url, true, 'healthy']])
  t.strictSame(pools, ((await (await fetch(`${admin}/status`)).json()) as { pools: unknown }).pools, 'the same view as /status')
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

  t.equal(((await (await fetch(`${admin}/status`)).json()) as { pools: Record<string, PoolView> }).pools.pay!.switchover, 'manual', '/status says the tier is held by hand')
  const res = await post(`${admin}/pools/pay/switchover`, { to: 'primary' })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as PoolView).activeTier, 'primary')
  t.equal(await who(), 'p1', 'operator failback returns traffic to the primary')
})

t.test('switchover { to: backup } moves traffic to the standby while the primaries are healthy; { to: primary } undoes it', async (t) => {
  const { admin, who } = await setup(t)
  const toBackup = (await (await post(`${admin}/pools/pay/switchover`, { to: 'backup' })).json()) as PoolView
  t.equal(toBackup.activeTier, 'backup')
  t.equal(toBackup.switchover, 'manual', 'shown as set by hand')
  t.equal(await who(), 'b1')
  t.equal(((await (await post(`${admin}/pools/pay/switchover`, { to: 'primary' })).json()) as PoolView).activeTier, 'primary')
  t.equal(await who(), 'p1')
})

t.test('the bodiless switchover and /failback stay as aliases', async (t) => {
  const { admin, who } = await setup(t)
  t.equal(((await (await post(`${admin}/pools/pay/switchover`)).json()) as PoolView).activeTier, 'backup')
  t.equal(await who(), 'b1')
  t.equal(((await (await post(`${admin}/pools/pay/failback`)).json()) as PoolView).activeTier, 'primary')
  t.equal(await who(), 'p1')
})

t.test('a bad switchover body is a 400 and changes nothing', async (t) => {
  const { admin, runtime } = await setup(t)
  for (const body of [{ to: 'sideways' }, { too: 'backup' }, ['backup']]) {
    const res = await post(`${admin}/pools/pay/switchover`, body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(((await res.json()) as { error: string }).error, 'bad_request')
  }
  const notJson = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{to:' })
  t.equal(notJson.status, 400)
  t.equal(((await notJson.json()) as { error: string }).error, 'bad_request')
  t.equal(runtime.pool.tier, 'primary')
})

t.test('an unknown pool is a 404 with a code', async (t) => {
  const { admin } = await setup(t)
  const res = await fetch(`${admin}/pools/nope/failback`, { method: 'POST' })
  t.equal(res.status, 404)
  t.equal(((await res.json()) as { error: string }).error, 'unknown_pool')
})
