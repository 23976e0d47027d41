// A WebSocket handshake whose target refuses the connection (no retry left) is refused 502 upstream_unreachable and
// is the pool's failure for its circuit breaker, as a request's connect failure is (forward.ts verdictOf): a pool
// whose targets are all down opens its breaker on upgrades as on requests, and fails fast with 503 circuit_open;
// whether the policy allowed no retry or the retry found no target left to pick.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { rawRequest, portOf } from './raw.ts'
import { wsHandshake } from './ws-tunnel.ts'
import { gateway, refusedUrl } from './setup.ts'

type Retry = GatewayConfig['pools'][string]['retry']
type Outlier = GatewayConfig['pools'][string]['outlier']

for (const [name, retry, outlier] of [
  ['no retry in the policy', { attempts: 1 }, { enabled: false }],
  // its one target ejected by its connect failure: the retry finds none left to pick
  ['no target left to retry on', { attempts: 3, retryOn: ['connect-failure'] }, { consecutiveFailures: 1, maxEjectionPercent: 100 }],
] as [string, Retry, Outlier][]) {
  t.test(`an unreachable target's handshake opens the breaker (${name}): the next is 503 circuit_open`, async (t) => {
    const dead = await refusedUrl()
    const gw = await gateway(t, {
      pools: {
        p: {
          targets: [dead],
          retry,
          outlier,
          circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const first = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'first'))
    t.equal(first.status, 502)
    t.equal(first.json().error, 'upstream_unreachable')
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, attempts: 1 })
    t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'the connect failure was the breaker\'s failure')
    const second = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'second'))
    t.equal(second.status, 503)
    t.equal(second.json().error, 'circuit_open')
  })
}
