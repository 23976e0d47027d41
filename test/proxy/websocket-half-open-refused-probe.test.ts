// A WebSocket handshake a half-open breaker admits as its probe, then refused before any target heard it (no target
// available, or the picked target's queue full), gives the probe slot back at once, as a request does
// (test/resilience/breaker-probe.test.ts): it says nothing of the upstream. Held, the slot would refuse every request
// and upgrade 503 circuit_open until the probe's lease ran out, though nothing had failed.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawRequest } from './raw.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'
import { blackhole } from './blackhole.ts'

t.test('no target available: 503 no_available_target, the probe slot free again', async (t) => {
  const up = await upstream(t, 'u')
  const gw = await gateway(t, {
    pools: { p: { targets: [up.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
  runtime.breaker.force('open')
  await waitFor(() => runtime.breaker.state === 'half-open')
  const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
  t.equal(res.status, 503)
  t.equal(res.json().error, 'no_available_target')
  t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
  t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
})

t.test('the picked target\'s queue full: 503 upstream_busy, the probe slot free again', async (t) => {
  const stuck = await blackhole(t)
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [stuck],
        connections: { maxQueuedPerTarget: 1 },
        retry: { attempts: 1 },
        timeouts: { requestMs: 10_000, connectMs: 10_000 },
        outlier: { enabled: false },
        circuitBreaker: { resetTimeoutMs: 200 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  const target = runtime.pool.targets[0]!
  // a first handshake fills the target's queue: its connection never opens
  await sendHandshake(t, gw.url)
  await waitFor(() => target.queueFull)
  runtime.breaker.force('open')
  await waitFor(() => runtime.breaker.state === 'half-open')
  const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
  t.equal(res.status, 503)
  t.equal(res.json().error, 'upstream_busy')
  t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
  t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
})
