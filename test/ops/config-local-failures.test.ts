// The watcher's retry schedule after read errors (doubling from retryMs, capped at 5 s; a run of failures ends at a
// read that works or finds no file, and the next run starts over), a path through a file being "no such file", and
// a reload that failed for the gateway's own shortage logged as such, never counted or recorded as a rejected config.
// readFile is replaced for one path as transient-local-errors.test.ts does (syncBuiltinESMExports); the watcher's
// retry timers are recorded from the global setTimeout and run at once (no clock is injectable into it).
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import type { GatewayConfig, ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ConfigWatcher } from '../../src/config/watch.ts'
import { ConfigError } from '../../src/errors.ts'
import { startGateway } from '../helpers/gateway.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

function errno (code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code })
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-local-failures-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** readFile on `path` throws the codes of `script` in turn (shift()ed: the test may push more), then reads. */
function scriptReads (t: Test, path: string, script: string[]): void {
  const fsp = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises')
  const real = fsp.readFile
  fsp.readFile = (async (...args: Parameters<typeof real>) => {
    const code = args[0] === path ? script.shift() : undefined
    if (code !== undefined) throw errno(code)
    return real(...args)
  }) as typeof real
  syncBuiltinESMExports()
  t.teardown(() => {
    fsp.readFile = real
    syncBuiltinESMExports()
  })
}

/** Timers of at least `minMs` are recorded and run after 1 ms; shorter ones (the debounce, waitFor) run as asked. */
function recordLongTimers (t: Test, minMs: number): number[] {
  const delays: number[] = []
  const real = globalThis.setTimeout
  globalThis.setTimeout = ((callback: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) => {
    if (typeof ms === 'number' && ms >= minMs) {
      delays.push(ms)
      return real(callback, 1, ...rest)
    }
    return real(callback, ms, ...rest)
  }) as typeof setTimeout
  t.teardown(() => { globalThis.setTimeout = real })
  return delays
}

async function waitFor (what: string, ready: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs}ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('watcher: reads that keep failing are retried after 1, 2, 4 s, then every 5 s', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  writeFileSync(file, '{"v":1}')
  const script = ['EIO', 'EIO', 'EIO', 'EIO', 'EIO', 'EIO']
  scriptReads(t, file, script)
  const delays = recordLongTimers(t, 1000)
  const errors: unknown[] = []
  let changes = 0
  const watcher = new ConfigWatcher(file, () => changes++, { debounceMs: 5, retryMs: 1000, onError: (err) => errors.push(err) })
  t.teardown(() => watcher.close())
  await watcher.start()
  await waitFor('the file read', () => changes === 1)
  t.strictSame(delays, [1000, 2000, 4000, 5000, 5000, 5000], 'doubled at each failure in a row, capped at 5 s')
  t.equal(errors.length, 1, 'the run reported once')
})

t.test('watcher: a run of failures ends at a read that finds no file or one that works; the next run starts over', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  writeFileSync(file, '{"v":1}')
  const script = ['EIO', 'EIO', 'ENOENT']
  scriptReads(t, file, script)
  const delays = recordLongTimers(t, 1000)
  const errors: unknown[] = []
  let recoveries = 0
  let changes = 0
  const watcher = new ConfigWatcher(file, () => changes++, { debounceMs: 5, retryMs: 1000, onError: (err) => errors.push(err), onRecover: () => recoveries++ })
  t.teardown(() => watcher.close())
  await watcher.start()
  await waitFor('the run ends at the missing file', () => script.length === 0 && recoveries === 1)
  t.strictSame(delays, [1000, 2000], 'two failures, retried')
  t.equal(errors.length, 1)
  // a new run: reported again, and retried after retryMs again, not after the last run's longer wait
  script.push('EMFILE')
  writeFileSync(file, '{"v":2}')
  await waitFor('the change is read', () => changes === 1)
  t.strictSame(delays, [1000, 2000, 1000], 'the next run starts over at retryMs')
  t.equal(errors.length, 2, 'the next run reported')
  t.match(errors[1], { code: 'EMFILE' })
  t.equal(recoveries, 2)
  // and a run that ended at a read that worked
  script.push('EIO')
  writeFileSync(file, '{"v":3}')
  await waitFor('the change is read', () => changes === 2)
  t.strictSame(delays, [1000, 2000, 1000, 1000], 'started over again')
  t.equal(errors.length, 3, 'reported again')
  t.equal(recoveries, 3)
})

t.test('loadConfigFile: a path through a file (ENOTDIR) is "no such file", as a missing one is', async (t) => {
  const dir = await tempDir(t)
  writeFileSync(join(dir, 'plain'), '')
  const err = await loadConfigFile(join(dir, 'plain', 'config.json')).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.strictSame((err as ConfigError).problems, ['no such file'])
})

t.test('a reload whose load failed with EMFILE: logged as the gateway\'s failure, not counted or recorded as a rejected config', async (t) => {
  const config: GatewayConfig = { pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] }
  let fail = true
  const load = async (): Promise<ResolvedConfig> => {
    if (fail) throw errno('EMFILE')
    return validateConfig(config)
  }
  const gw = await startGateway(config, { defaultMetrics: false, load })
  t.teardown(() => gw.close())
  const result = await gw.gateway.reload('signal')
  t.equal(result.localFailure, 'EMFILE')
  const lines = gw.logs.filter((l) => /reload failed: the config could not be read \(EMFILE\)/.test(l.msg))
  t.equal(lines.length, 1, 'said once, naming the code')
  t.match(lines[0], { level: 50, code: 'EMFILE', trigger: 'signal' })
  t.same(gw.logs.filter((l) => /rejected/.test(l.msg)), [], 'not as a rejected config')
  const reloads = async (): Promise<number> => Object.entries(seriesOf(await gw.gateway.metrics!.render())).filter(([k]) => k.startsWith('switchyard_config_reloads_total{')).reduce((sum, [, v]) => sum + v, 0)
  t.equal(await reloads(), 0, 'no reload counted')
  fail = false
  t.equal((await gw.gateway.reload('signal')).result, 'unchanged')
  t.equal(await reloads(), 1, 'a reload that read the file is counted')
})
