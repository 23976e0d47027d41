// admin.port equal to server.port is refused when the two hosts may share an address, `localhost` included (review
// r41b: server.host 'localhost' and admin.host '127.0.0.1' on one port passed `check`, then the start failed with
// "server.port is in use", held by the gateway's own admin listener). localhost is both of its loopback addresses,
// either of which Node may bind for it; an address on another interface does not overlap it.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { ConfigError } from '../../src/errors.ts'

const config = (serverHost: string, adminHost: string) => ({
  server: { host: serverHost, port: 18777 },
  admin: { host: adminHost, port: 18777 },
  pools: { p: { targets: ['http://127.0.0.1:1'] } },
  routes: [{ path: '/', pool: 'p' }],
})

const problemsOf = (serverHost: string, adminHost: string): readonly string[] => {
  try {
    validateConfig(config(serverHost, adminHost))
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems
  }
}

t.test('hosts that may share an address on one port are refused at admin.port', async (t) => {
  // and IPv4 shorthands, which listen() binds as the address they spell (review r41i)
  for (const [serverHost, adminHost] of [['localhost', '127.0.0.1'], ['127.0.0.1', 'localhost'], ['localhost', '::1'], ['LocalHost', 'localhost'], ['0.0.0.0', 'localhost'], ['localhost', '::'], ['127.1', '127.0.0.1'], ['2130706433', '127.0.0.1'], ['0x7f.1', 'localhost'], ['127.1', '0.0.0.0']]) {
    t.ok(problemsOf(serverHost, adminHost).some((p) => p.startsWith('admin.port:')), `${serverHost} / ${adminHost}`)
  }
})

t.test('hosts that cannot share an address may share the port number', async (t) => {
  for (const [serverHost, adminHost] of [['localhost', '10.0.0.1'], ['10.0.0.1', 'localhost'], ['127.0.0.1', '127.0.0.2'], ['0.0.0.0', '::1'], ['127.2', '127.0.0.1'], ['gateway.example', '127.0.0.1']]) {
    t.same(problemsOf(serverHost, adminHost), [], `${serverHost} / ${adminHost}`)
  }
})
