// A request that timed out while queued for a busy target's connections (upstream_busy) is retried on another
// target as a timeout is: when retryOn lists 'timeout' (here without 'reset'), the retry serves it. README: "the
// retry policy treats it as a timeout". (src/proxy/attempt.ts, #busy: `retryableFailure('timeout', ...)`.)
import t from 'tap'
import { gateway, holdOnlyConnection, upstream } from './setup.ts'

t.test('a busy target\'s queued request is retried elsewhere when retryOn has timeout (and not reset)', async (t) => {
  const a = await upstream(t, 'A')
  const b = await upstream(t, 'B')
  const gw = await gateway(t, {
    pools: {
      p: {
        // round-robin by weight: the holder and the probe both go to A; only a retry (avoiding A) goes to B
        targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
        connections: { maxPerTarget: 1 },
        retry: { attempts: 2, retryOn: ['connect-failure', 'timeout', 503], perTryTimeoutMs: 300, maxBufferBytes: 16, backoff: { baseMs: 1, maxMs: 1 } },
        timeouts: { requestMs: 5000 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  let seenByA = 0
  a.server.on('request', () => { seenByA++ })
  await holdOnlyConnection(t, gw.url, target, () => seenByA === 1)

  const res = await fetch(`${gw.url}/probe`)
  const body = await res.text()
  t.equal(res.status, 200, `served by the retry, not 503 upstream_busy (${body.slice(0, 80)})`)
  t.equal(res.headers.get('x-upstream'), 'B')
  t.equal(seenByA, 1, 'the probe never reached A')
  const line = gw.accessLogs().find((l) => l.path === '/probe')
  t.equal(line?.attempts, 2, 'two attempts: the busy one and its retry')
})
