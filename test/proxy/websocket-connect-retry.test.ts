// A WebSocket handshake whose target refuses the connection never left the gateway: the pool's retry policy sends it
// to another target, as it does a request (retryOn 'connect-failure', within attempts and the deadline, no budget
// slot), as nginx's proxy_next_upstream error and HAProxy's retry-on conn-failure with redispatch do. Only when the
// policy stops it is the handshake refused 502. The access-log line counts the attempts made.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawRequest } from './raw.ts'
import { deadPrimary } from './dead-primary.ts'
import { gateway, refusedUrl } from './setup.ts'
import { openTunnel, wsHandshake } from './ws-tunnel.ts'

type Retry = GatewayConfig['pools'][string]['retry']

t.test('a refused connect is retried on another target: 101, two attempts logged', async (t) => {
  const { gw, live, deadTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'] })
  const tunnel = await openTunnel(t, portOf(gw.url))
  t.equal(live.tunnels.size, 1, 'tunnelled to the live target')
  t.equal(deadTarget.failures, 1, 'the refused connect is the dead target\'s failure')
  tunnel.socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 101, attempts: 2, target: live.url })
})

t.test('every target refusing: 502 upstream_unreachable after the policy\'s attempts', async (t) => {
  const dead = [await refusedUrl(), await refusedUrl()]
  const gw = await gateway(t, {
    pools: { p: { targets: dead, retry: { attempts: 3, retryOn: ['connect-failure'] }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'all-dead'))
  t.equal(res.status, 502)
  t.equal(res.json().error, 'upstream_unreachable')
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 3 })
  const targets = gw.gateway.pools().get('p')!.pool.targets
  t.equal(targets[0]!.failures + targets[1]!.failures, 3, 'each attempt a failure of its target')
})

for (const [name, retry] of [
  ['connect-failure not in retryOn', { attempts: 3, retryOn: [502] }],
  ['one attempt', { attempts: 1 }],
] as [string, Retry][]) {
  t.test(`no retry when the policy says none (${name}): 502 at once`, async (t) => {
    const { gw, live } = await deadPrimary(t, retry)
    const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'no-retry'))
    t.equal(res.status, 502)
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 1 })
    t.equal(live.requests.length, 0, 'the live target never got it')
  })
}
