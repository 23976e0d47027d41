// retry.attempts counts every attempt, the first one included (README: `attempts: 3`; Envoy's num_retries is
// attempts - 1): with attempts 2 and three targets all answering 503, the gateway tries two of them and passes the
// second's 503 on; the third target never sees the request. (src/proxy/attempt.ts, constructor:
// `ex.attempts < policy.attempts`: the attempt in flight is already counted in ex.attempts.)
import t from 'tap'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('attempts: 2 makes exactly two attempts, however many targets could take a third', async (t) => {
  const ups = [await upstream(t, 'A'), await upstream(t, 'B'), await upstream(t, 'C')]
  for (const u of ups) u.failCount = 100
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: ups.map((u) => u.url),
        retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 1 } },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const res = await fetch(`${gw.url}/x`, { headers: { 'x-request-id': 'capped' } })
  await res.arrayBuffer()
  t.equal(res.status, 503, 'the last attempt\'s 503 is passed on')
  t.equal(ups.reduce((n, u) => n + u.requests.filter((r) => r.url === '/x').length, 0), 2, 'two upstream requests in all')
  t.equal(ups.filter((u) => u.requests.length > 0).length, 2, 'one target never sees it')
  t.equal(gw.accessLogs().find((l) => l.requestId === 'capped')?.attempts, 2, 'the access log says two attempts')
})
