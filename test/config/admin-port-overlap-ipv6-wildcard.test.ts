// The IPv6 wildcard has more than one spelling: '::0' and '0:0:0:0:0:0:0:0' bind every address like '::' (and, on a
// dual-stack host, every IPv4 one too), so an admin listener on 127.0.0.1 with the same port cannot bind beside a
// public listener on one of them: the config is refused at admin.port, at check time, rather than the gateway failing
// at start with EADDRINUSE. '[::]' (which server.host refuses as written) is flagged at admin.port too.
// test/config/admin-port-overlap.test.ts covers '::' and 0.0.0.0; the kernel's view is checked at the end.
import { createServer, type Server } from 'node:net'
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const listeners = (server: Record<string, unknown>, admin: Record<string, unknown>): Record<string, unknown> => baseConfig({ server, admin })
// every spelling RFC 5952 folds into '::' (the canonical form is compared, not a list of spellings)
const SPELLINGS = ['::', '::0', '0:0:0:0:0:0:0:0', '0::0', '0::', '::0:0', '0000::', '0:0:0:0:0:0:0:0000']

t.test('every spelling of the IPv6 wildcard, on either side, with the same port is refused', async (t) => {
  for (const wildcard of SPELLINGS) {
    for (const other of ['127.0.0.1', '::1', '10.0.0.1']) {
      t.strictSame(problemPaths(listeners({ host: wildcard, port: 9000 }, { host: other, port: 9000 })), ['admin.port'], `server.host '${wildcard}', admin.host '${other}'`)
      t.strictSame(problemPaths(listeners({ host: other, port: 9000 }, { host: wildcard, port: 9000 })), ['admin.port'], `server.host '${other}', admin.host '${wildcard}'`)
    }
  }
  for (const [server, admin] of [['[::]', '127.0.0.1'], ['127.0.0.1', '[::]']]) {
    t.ok(problemPaths(listeners({ host: server, port: 9000 }, { host: admin, port: 9000 })).includes('admin.port'), `server.host '${server}', admin.host '${admin}'`)
  }
})

t.test('on different ports, or port 0, they are fine', async (t) => {
  for (const wildcard of SPELLINGS) {
    t.strictSame(problemPaths(listeners({ host: wildcard, port: 9000 }, { host: '127.0.0.1', port: 9001 })), [], `'${wildcard}' 9000, admin 9001`)
    t.strictSame(problemPaths(listeners({ host: wildcard, port: 0 }, { host: '127.0.0.1', port: 0 })), [], `'${wildcard}' port 0`)
  }
})

const listen = (server: Server, port: number, host: string): Promise<string> => new Promise((resolve) => {
  server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
  server.listen(port, host, () => resolve('bound'))
})

/** What binding `then` on the port of a listener on `first` gives: 'bound' or the error code. */
async function bindAfter (t: { teardown: (fn: () => void) => void }, first: string, then: string): Promise<string> {
  const a = createServer()
  const b = createServer()
  t.teardown(() => { a.close(); b.close() })
  const bound = await listen(a, 0, first)
  if (bound !== 'bound') return `${first}: ${bound}`
  return listen(b, (a.address() as { port: number }).port, then)
}

const probe = createServer()
const ipv6 = await listen(probe, 0, '::') === 'bound'
probe.close()

t.test('the kernel: such a spelling takes the port as :: does', { skip: ipv6 ? false : 'no IPv6 on this host' }, async (t) => {
  // 'EADDRINUSE' on a dual-stack host; a host with bindv6only=1 lets IPv4 bind beside '::' (and every spelling)
  const ipv4AfterWildcard = await bindAfter(t, '::', '127.0.0.1')
  for (const wildcard of SPELLINGS) {
    t.equal(await bindAfter(t, wildcard, '::'), 'EADDRINUSE', `'${wildcard}' then '::'`)
    t.equal(await bindAfter(t, wildcard, '127.0.0.1'), ipv4AfterWildcard, `'${wildcard}' then 127.0.0.1`)
  }
})
