// preserveHost: false sends each attempt the Host of the target it goes to: a retry on another target carries that
// target's host:port, once, not the one of the target the first attempt went to.
// (src/proxy/attempt.ts, withTargetHost: `headers[ex.targetHostAt + 1] = host`.)
import t from 'tap'
import { gateway, upstream } from './setup.ts'
import { httpRequest } from './http.ts'

t.test('a retry to another target carries that target\'s Host when preserveHost is false', async (t) => {
  const a = await upstream(t, 'A')
  const b = await upstream(t, 'B')
  a.failCount = 1 // 503: retried on B
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
        preserveHost: false,
        retry: { backoff: { baseMs: 1, maxMs: 1 } },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const res = await httpRequest(`${gw.url}/x`, { headers: { host: 'shop.example' } })
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'B', 'the retry went to B')
  t.equal(a.requests[0]!.headers.host, new URL(a.url).host, 'the first attempt had A\'s host')
  const raw = b.requests[0]!.rawHeaders
  const hosts = raw.flatMap((v, i) => i % 2 === 0 && v.toLowerCase() === 'host' ? [raw[i + 1]!] : [])
  t.same(hosts, [new URL(b.url).host], 'the retry had B\'s host, once')
})
