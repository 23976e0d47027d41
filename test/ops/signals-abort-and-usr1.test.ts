// Signals an operator may send that are not a stop (review r41b): SIGABRT (`kill -ABRT` for a core dump, a
// watchdog's abort) killed the gateway after a graceful drain with exit code 0, as close-with-grace takes every
// signal it knows for a stop; it now crashes with the signal, as any process does (src/main.ts NOT_A_STOP). SIGUSR1
// opened Node's inspector on 127.0.0.1:9229 (code execution for anything on the pod's loopback); the shipped
// --disable-sigusr1 makes it do nothing: the gateway serves on, no inspector listens, and SIGTERM still drains.
// SIGQUIT drains as SIGTERM does (nginx's graceful quit).
import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

/** No core file from the abort in the working tree, where the machine would write one. */
const NO_CORE = spawnSync('prlimit', ['--version']).status === 0 ? ['prlimit', '--core=0'] : undefined

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function cli (t: Tap) {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config: GatewayConfig = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 2000 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, config)
  return startCli(t, file, NO_CORE === undefined ? {} : { wrapper: NO_CORE })
}

const inspectorListens = (): Promise<boolean> => new Promise((resolve) => {
  const socket = connect(9229, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

t.test('SIGABRT crashes the gateway with the signal: no drain, no exit 0', async (t) => {
  const gw = await cli(t)
  gw.kill('SIGABRT')
  const exit = await gw.exited
  t.same(exit, { code: null, signal: 'SIGABRT' })
  t.notOk(gw.records.some((r) => /shutting down/.test(String(r.msg))), 'no graceful shutdown began')
})

t.test('SIGUSR1 does nothing: no inspector, the gateway serves on, SIGTERM drains', async (t) => {
  const before = await inspectorListens()
  const gw = await cli(t)
  gw.kill('SIGUSR1')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.ok(gw.running(), 'still running')
  t.equal((await httpRequest(`${gw.url}/`)).status, 200)
  t.notMatch(gw.stderr(), /Debugger listening/)
  if (!before) t.notOk(await inspectorListens(), 'nothing listens on the inspector port')
  gw.kill('SIGTERM')
  t.same(await gw.exited, { code: 0, signal: null })
})

t.test('SIGQUIT drains as SIGTERM does', async (t) => {
  const gw = await cli(t)
  gw.kill('SIGQUIT')
  t.same(await gw.exited, { code: 0, signal: null })
  t.ok(gw.records.some((r) => /shutting down/.test(String(r.msg))), 'a graceful shutdown')
})
