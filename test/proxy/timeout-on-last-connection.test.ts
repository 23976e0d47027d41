// upstream_busy (503, counted against nobody) is for a request that timed out while it waited for one of the
// target's connections: the upstream never saw it. A request that got the target's last connection and was sent on
// it, then timed out waiting for the answer, is the upstream's timeout (504 upstream_timeout), counted against the
// target, however full its connections are. (src/proxy/attempt.ts, #fail: `this.#controller === undefined`.)
import t from 'tap'
import { gateway, upstream } from './setup.ts'

t.test('a request sent on the target\'s last connection that times out is 504 upstream_timeout, not upstream_busy', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [u.url],
        connections: { maxPerTarget: 1 },
        retry: { attempts: 1 },
        timeouts: { requestMs: 300 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const res = await fetch(`${gw.url}/slow`)
  const body = await res.json() as { error: string }
  t.equal(u.requests.length, 1, 'the upstream had the request')
  t.equal(res.status, 504)
  t.equal(body.error, 'upstream_timeout', 'the upstream\'s timeout, not a busy target')
  t.equal(target.failures, 1, 'counted against the target')
  const line = gw.accessLogs().find((l) => l.path === '/slow')
  t.equal(line?.error, 'upstream_timeout')
})
