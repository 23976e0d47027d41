// Every fault signal kills the gateway by the signal, as SIGABRT does (test/ops/signals-abort-and-usr1.test.ts):
// SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP are not a graceful stop (src/main.ts NOT_A_STOP, review r41f: only
// SIGABRT was pinned, and any of the others dropped from the list would again drain and exit 0, a crash that
// reports success to its supervisor). Sent with kill, one gateway each.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

/** No core file from the crash in the working tree, where the machine would write one. */
const NO_CORE = spawnSync('prlimit', ['--version']).status === 0 ? ['prlimit', '--core=0'] : undefined

const FAULTS = ['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP'] as const

t.test('a fault signal crashes the gateway with the signal: no drain, no exit 0', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 2000 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  } satisfies GatewayConfig)
  for (const signal of FAULTS) {
    const gw = await startCli(t, file, NO_CORE === undefined ? {} : { wrapper: NO_CORE })
    gw.kill(signal)
    t.same(await gw.exited, { code: null, signal }, `${signal}: died by the signal`)
    t.notOk(gw.records.some((r) => /shutting down/.test(String(r.msg))), `${signal}: no graceful shutdown began`)
  }
})
