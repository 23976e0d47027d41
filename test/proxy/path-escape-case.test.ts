// A percent-escape's hex digits are case-insensitive (RFC 3986 §6.2.2.1: "should be normalized to use uppercase
// digits"): '/caf%c3%a9' and '/caf%C3%A9' are one path to every upstream that decodes. Both are routed to the route
// written '/caf%C3%A9', and both reach its upstream as '/caf%C3%A9' (HAProxy's `normalize-uri percent-to-uppercase`),
// so a lower-case spelling can neither slip past the route's methods, body limit and pool to a broader route, nor be
// read by the upstream as another path than the one routed. (src/routing/path.ts, normaliseRequestTarget.)
import t from 'tap'
import type { Echo } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

const get = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`

t.test('escapes are routed and forwarded in upper case, whatever case the client wrote', async (t) => {
  const cafe = await upstream(t, 'cafe')
  const other = await upstream(t, 'other')
  const gw = await gateway(t, {
    pools: { cafe: { targets: [cafe.url] }, other: { targets: [other.url] } },
    routes: [{ path: '/caf%C3%A9', pool: 'cafe' }, { path: '/', pool: 'other' }],
  })
  const port = portOf(gw.url)
  const cases: Array<[string, string, string]> = [
    ['/caf%C3%A9', 'cafe', '/caf%C3%A9'],
    ['/caf%c3%a9', 'cafe', '/caf%C3%A9'],
    ['/caf%C3%a9/menu?q=%c3', 'cafe', '/caf%C3%A9/menu?q=%c3'], // the query is left as it came
    ['/caf%c3%A9;v=%2c', 'other', '/caf%C3%A9;v=%2C'], // another path segment: not under the route
    ['/x/%e2%82%ac', 'other', '/x/%E2%82%AC'],
  ]
  for (const [target, name, seen] of cases) {
    const res = await rawRequest(port, get(target))
    t.equal(res.status, 200, `${target}: 200`)
    const echo = res.json<Echo>()
    t.equal(echo.name, name, `${target} is routed to ${name}`)
    t.equal(echo.url, seen, `${target} reaches the upstream as ${seen}`)
  }
})
