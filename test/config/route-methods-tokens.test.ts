// routes[].methods takes any method token (RFC 9110 §9.1), not only nine: nginx (limit_except PURGE) and Envoy
// (a :method match) confine PURGE, WebDAV's PROPFIND/REPORT/MKCOL or QUERY to a route, and the gateway proxies them.
// Methods are case-sensitive and Node's parser takes only upper-case ones, so a lower-case spelling is refused with
// the one to write; CONNECT is answered 501 before routing, so a route for it is refused as unreachable
// (review r36c finding 3).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import { baseConfig, problemsOf } from './problems.ts'

const withMethods = (...methods: unknown[]): Record<string, unknown> => baseConfig({ routes: [{ path: '/a', pool: 'a', methods }, { path: '/', pool: 'b' }] })

t.test('extension methods narrow a route', async (t) => {
  for (const methods of [['PURGE'], ['PROPFIND', 'REPORT', 'MKCOL'], ['QUERY', 'SEARCH'], ['GET', 'HEAD'], ['M-SEARCH']]) {
    t.strictSame(problemsOf(withMethods(...methods)), [], methods.join(','))
  }
  const config = validateConfig(withMethods('PURGE'))
  const table = new RoutingTable(config.routes)
  t.equal(table.match('/a/x', 'PURGE', 'h')?.route.pool, 'a', 'a PURGE is routed to the PURGE route')
  t.equal(table.match('/a/x', 'GET', 'h')?.route.pool, 'b', 'and nothing else is')
})

t.test('a lower-case method is refused with the spelling to write', async (t) => {
  t.strictSame(problemsOf(withMethods('GET', 'purge')), [
    "routes[0].methods[1]: methods are case-sensitive and requests send them in upper case: write 'PURGE' ('purge' never matches a request)",
  ])
})

t.test('what is no method token is refused', async (t) => {
  for (const method of ['', 'GET POST', 'GET,POST', 'PUR(GE)', 'ÜBER']) {
    t.match(problemsOf(withMethods(method)), [/^routes\[0\]\.methods\[0\]: must be an HTTP method/], JSON.stringify(method))
  }
  t.match(problemsOf(withMethods(7)), [/^routes\[0\]\.methods\[0\]: /], 'not a string')
  t.match(problemsOf(withMethods()), [/^routes\[0\]\.methods: /], 'an empty list narrows to nothing')
})

t.test('a CONNECT route, never reachable, is refused at its own path', async (t) => {
  t.strictSame(problemsOf(withMethods('GET', 'CONNECT')), [
    'routes[0].methods[1]: CONNECT is answered 501 method_not_implemented before routing (the gateway opens no tunnels): a route for it could never match',
  ])
})

t.test("a token Node's parser does not take (501 before routing), never reachable, is refused", async (t) => {
  t.match(problemsOf(withMethods('GET', 'BREW')), [/^routes\[0\]\.methods\[1\]: Node's HTTP parser refuses requests with this method/])
})
