// routes[].host must be a host name a request can carry: the table compares it (lower-cased, no trailing dot) with
// the request's host name without its port, so spaces, a scheme, a path, a wildcard or a port made a dead route.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const withHost = (host: string): Record<string, unknown> => baseConfig({ routes: [{ path: '/a', pool: 'a', host }] })

t.test('host names, IP addresses and bracketed IPv6 addresses are accepted', async (t) => {
  for (const host of ['api.example.com', 'API.Example.com', 'api.example.com.', 'localhost', 'svc_internal.local', '10.0.0.1', '[::1]', '[2001:db8::1]']) {
    t.strictSame(problemPaths(withHost(host)), [], host)
  }
})

t.test('what no request could match is refused', async (t) => {
  for (const host of ['', ' api.example.com', 'api.example.com ', '*', '*.example.com', 'http://api.example.com', 'api.example.com/x',
    'api example.com', 'api.example.com:8080', '[::1]:8080', '::1', '[nope]', 'a..b', '.a', 'a%b']) {
    t.strictSame(problemPaths(withHost(host)), ['routes[0].host'], JSON.stringify(host))
  }
})

t.test('a host with and without its root dot is one host: two such routes are duplicates', async (t) => {
  const config = baseConfig({ routes: [{ path: '/a', pool: 'a', host: 'api.example.com' }, { path: '/a', pool: 'b', host: 'API.example.com.' }] })
  t.strictSame(problemPaths(config), ['routes[1]'])
})
