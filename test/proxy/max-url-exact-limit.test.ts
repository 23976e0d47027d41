// server.maxUrlBytes is the longest request target the gateway takes: a target of exactly that many bytes is
// forwarded, one byte more is 414 uri_too_long (README: "longest request target ... more is 414").
// Pins src/proxy/forward.ts ProxyHandler.handle:
// `if ((req.url?.length ?? 0) > this.#maxUrlBytes)` (strictly greater).
import t from 'tap'
import { httpRequest, type ErrorBody } from './http.ts'
import { gateway, upstream } from './setup.ts'

const LIMIT = 512

t.test('a request target of exactly maxUrlBytes is forwarded; one byte more is 414', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, {
    server: { maxUrlBytes: LIMIT },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const exact = '/' + 'a'.repeat(LIMIT - 1)
  t.equal(exact.length, LIMIT)
  const atLimit = await httpRequest(`${gw.url}${exact}`)
  t.equal(atLimit.status, 200, 'exactly at the limit: forwarded')
  t.equal(u.hits, 1)
  t.equal(u.requests[0]!.url.length, LIMIT)
  const over = await httpRequest(`${gw.url}${exact}b`)
  t.equal(over.status, 414)
  t.equal(over.json<ErrorBody>().error, 'uri_too_long')
  t.equal(u.hits, 1, 'the longer one never reached the upstream')
})
