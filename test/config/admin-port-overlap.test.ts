// The admin listener cannot share the public listener's address and port (the second bind would fail at start):
// the same host, or a wildcard on either side (:: for any address, 0.0.0.0 for IPv4 ones), with the same port is
// refused. Port 0 never clashes.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const listeners = (server: Record<string, unknown>, admin: Record<string, unknown>): Record<string, unknown> => baseConfig({ server, admin })

t.test('the same host and port is refused', async (t) => {
  t.strictSame(problemPaths(listeners({ host: '127.0.0.1', port: 9000 }, { host: '127.0.0.1', port: 9000 })), ['admin.port'])
})

t.test('a wildcard host on either side with the same port is refused', async (t) => {
  t.strictSame(problemPaths(listeners({ port: 9901 }, {})), ['admin.port'], 'the default server host 0.0.0.0 on the default admin port')
  t.strictSame(problemPaths(listeners({ host: '::', port: 9000 }, { host: '127.0.0.1', port: 9000 })), ['admin.port'])
  t.strictSame(problemPaths(listeners({ host: '10.0.0.1', port: 9000 }, { host: '0.0.0.0', port: 9000 })), ['admin.port'])
})

t.test('different ports, different specific hosts, or port 0 are fine', async (t) => {
  t.strictSame(problemPaths(listeners({ port: 8080 }, { port: 9901 })), [])
  t.strictSame(problemPaths(listeners({ host: '127.0.0.1', port: 9000 }, { host: '127.0.0.2', port: 9000 })), [])
  t.strictSame(problemPaths(listeners({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 })), [])
  // 0.0.0.0 takes the port on IPv4 only: IPv6 loopback binds it too
  t.strictSame(problemPaths(listeners({ host: '0.0.0.0', port: 9000 }, { host: '::1', port: 9000 })), [])
  t.strictSame(problemPaths(listeners({ host: '::1', port: 9000 }, { host: '0.0.0.0', port: 9000 })), [])
})

// Host names are case-insensitive (RFC 4343): 'LOCALHOST' and 'localhost' are one address, and both listeners on it
// with one port would fail the second bind at start.
t.test("a host name in another case is the same host", async (t) => {
  t.strictSame(problemPaths(listeners({ host: 'LOCALHOST', port: 9000 }, { host: 'localhost', port: 9000 })), ['admin.port'])
  t.strictSame(problemPaths(listeners({ host: 'localhost', port: 9000 }, { host: 'LocalHost', port: 9000 })), ['admin.port'])
})

// An empty host is what listen() takes for "every address" (IPv6 and, dual-stack, IPv4): like '::', it overlaps any
// host on either side.
t.test("an empty host, listen()'s every address, overlaps any host", async (t) => {
  t.strictSame(problemPaths(listeners({ host: '', port: 9000 }, { host: '127.0.0.1', port: 9000 })), ['admin.port'])
  t.strictSame(problemPaths(listeners({ host: '10.0.0.1', port: 9000 }, { host: '', port: 9000 })), ['admin.port'])
})
