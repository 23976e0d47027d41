// A WebSocket tunnel is judged a success for the pool's breaker when its 101 is written, not when it closes (it may
// stay open for hours): a half-open breaker whose probe is a handshake the upstream switches closes at once, while
// the tunnel still runs. Judged only at its close, the pool would stay half-open (one probe at a time) for as long
// as the probe's tunnel lives.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { openTunnel } from './ws-tunnel.ts'

t.test('a half-open breaker\'s probe switched to a tunnel: the breaker closes while the tunnel runs', async (t) => {
  const up = await upstream(t, 'u')
  const gw = await gateway(t, {
    pools: { p: { targets: [up.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  runtime.breaker.force('open')
  await waitFor(() => runtime.breaker.state === 'half-open')
  const tunnel = await openTunnel(t, portOf(gw.url))
  t.equal(runtime.breaker.state, 'closed', 'the 101 closed it')
  t.notOk(tunnel.isClosed(), 'the tunnel still runs')
  await tunnel.roundTrip()
})
