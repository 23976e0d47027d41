// A WebSocket handshake's connect-failure retry, sent after a reload rebuilt its pool, carries the Host the running
// pool's preserveHost says: a pool rebuilt to preserve the client's Host sends the client's (chat.example), not the
// target's name the replaced pool wrote. Virtual-hosted upstreams route on it: the wrong one reaches the wrong site.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { portOf, rawRequest } from './raw.ts'
import { refusedUrl, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test('a reload that rebuilds the pool to preserve Host during the backoff: the retry carries the client\'s Host', async (t) => {
  const dead = await refusedUrl(t)
  const live = await upstream(t, 'live')
  const clock = new ManualClock()
  const config = (preserveHost: boolean): GatewayConfig => ({
    pools: {
      p: {
        targets: [dead, { url: live.url, backup: true }],
        preserveHost,
        // with random 0.5, the first retry waits 500 ms on the manual clock
        retry: { attempts: 2, retryOn: ['connect-failure'], backoff: { baseMs: 1000, maxMs: 1000 } },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config(false)
  const gw = await startGateway(next, { defaultMetrics: false, clock, random: () => 0.5, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  const deadFailures = (): number => gw.gateway.pools().get('p')!.pool.targets.filter((x) => x.url === dead).reduce((n, x) => n + x.failures, 0)
  const answer = rawRequest(portOf(gw.url), wsHandshake('/ws', 'preserved'))
  await waitFor(() => deadFailures() === 1)
  t.ok(clock.dueIn().includes(500), 'the retry waits out its backoff')
  const before = gw.gateway.pools().get('p')
  next = config(true)
  t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
  t.not(gw.gateway.pools().get('p'), before, 'the pool was rebuilt')
  clock.advance(500)
  const res = await answer
  t.equal(res.status, 101)
  t.equal(live.requests.length, 1, 'the live target got the retry')
  t.equal(live.requests[0]!.headers.host, 'chat.example', 'with the client\'s Host, as the running pool preserves it')
  t.equal(live.requests[0]!.rawHeaders.filter((h) => h.toLowerCase() === 'host').length, 1, 'and only that one')
})
