// A pool whose only primary refuses connections and whose backup is live, under a given retry policy: every first
// attempt fails to connect, so what happens next is the retry policy's doing (the WebSocket connect-retry tests).
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { GatewayOptions } from '../../src/app.ts'
import { gateway, refusedUrl, upstream, type Tap } from './setup.ts'

type PoolConfig = GatewayConfig['pools'][string]

/** `pool` adds settings (timeouts, breaker) to the pool; outlier detection is off unless it says otherwise. */
export async function deadPrimary (t: Tap, retry: PoolConfig['retry'], options: GatewayOptions = {}, pool: Partial<PoolConfig> = {}) {
  const dead = await refusedUrl()
  const live = await upstream(t, 'live')
  const gw = await gateway(t, {
    pools: { p: { targets: [dead, { url: live.url, backup: true }], retry, outlier: { enabled: false }, ...pool } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false, ...options })
  const targets = gw.gateway.pools().get('p')!.pool.targets
  const deadTarget = targets.find((x) => x.url === dead)!
  const liveTarget = targets.find((x) => x.url === live.url)!
  return { gw, dead, live, deadTarget, liveTarget }
}
