// A gateway with one Active-Standby pool `pay` on real upstreams (p1 primary, b1 backup, or p1 alone) under fast
// health checks, and its admin listener: for tests of the operator's switchover and failback while targets come
// and go. Everything it starts closes in the test's teardown.
import type { Test as Tap } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSettings = Omit<GatewayConfig['pools'][string], 'targets' | 'healthCheck'>

export interface PoolView { activeTier: string; switchover: string; hold: string; targets: { id: string; state: string }[] }

export async function checkedStandby (t: Tap, pool: PoolSettings = {}, withBackup = true) {
  const p1 = await TestUpstream.start({ name: 'p1' })
  const b1 = await TestUpstream.start({ name: 'b1' })
  t.teardown(async () => { await p1.close(); await b1.close() })
  const targets = withBackup ? [p1.url, { url: b1.url, backup: true }] : [p1.url]
  const gw = await startGateway({
    pools: { pay: { targets, healthCheck: { path: '/health', intervalMs: 100, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 2 }, ...pool } },
    routes: [{ path: '/', pool: 'pay' }],
  }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('pay')!
  const post = (path: string, body?: unknown): Promise<Response> =>
    fetch(`${admin}${path}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
  /** The answer's status and error code (undefined for a success). */
  const act = async (path: string, body?: unknown): Promise<[number, string | undefined]> => {
    const res = await post(path, body)
    return [res.status, ((await res.json()) as { error?: string }).error]
  }
  const view = async (): Promise<PoolView> => ((await (await fetch(`${admin}/status`)).json()) as { pools: Record<string, PoolView> }).pools.pay!
  const holdMetric = async (): Promise<string | undefined> => /^switchyard_pool_hold\{pool="pay"\} (\d+)$/m.exec(await (await fetch(`${admin}/metrics`)).text())?.[1]
  const who = async (): Promise<string> => ((await (await fetch(`${gw.url}/x`)).json()) as { name: string }).name
  const targetId = (u: TestUpstream): string => runtime.pool.targets.find((x) => x.url === u.url)!.id
  /** Waits until the health checks have marked `u` as `state` in /status. */
  const stateOf = async (u: TestUpstream, state: string): Promise<void> => {
    await waitFor(async () => (await view()).targets.find((x) => x.id === targetId(u))?.state === state)
  }
  const targetAction = (u: TestUpstream, action: 'drain' | 'enable' | 'disable'): Promise<Response> =>
    post(`/pools/pay/targets/${encodeURIComponent(targetId(u))}/${action}`)
  await stateOf(p1, 'healthy')
  return { p1, b1, gw, admin, runtime, act, view, holdMetric, who, stateOf, targetAction }
}
