// Failures of the gateway's own machine (out of file descriptors, an I/O error) are not the config's nor permanent:
// a /metrics scrape whose prom-client import failed is tried again at the next scrape; a config file the watcher
// could not read is read again until it can; a reload whose load failed so answers 503 reload_failed (retryable),
// not 422 invalid_config. The failures are injected (real fd exhaustion is flaky in a suite): a failing import, and
// node:fs/promises' readFile replaced for one path (syncBuiltinESMExports: the modules' named imports follow).
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { Reloader } from '../../src/config/reloader.ts'
import type { GatewayConfig, ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ConfigWatcher } from '../../src/config/watch.ts'
import { ConfigError } from '../../src/errors.ts'
import { processRegistry } from '../../src/metrics/process.ts'
import { adminRequest } from '../admin/admin-request.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

function errno (code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code })
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-local-errors-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

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

/** Makes the next `times` readFile calls on `path` throw `code`; put back in teardown. Returns how many failed. */
function failReads (t: Test, path: string, code: string, times: number): () => number {
  const script = Array.from({ length: times }, () => code)
  scriptReads(t, path, script)
  return () => times - script.length
}

async function waitFor (what: string, ready: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs}ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// first: the process registry is one per process, and nothing else in this file loads it
t.test('metrics: a prom-client import that failed is tried again at the next scrape', async (t) => {
  await t.rejects(processRegistry(() => Promise.reject(errno('EMFILE'))), { code: 'EMFILE' }, 'the first load fails')
  const registry = await processRegistry()
  t.match(await registry.metrics(), /^process_cpu_user_seconds_total /m, 'the next one loads prom-client')
  t.equal(await processRegistry(), registry, 'and that one is kept')
})

t.test('watcher: a file read that fails (EMFILE) is read again until it succeeds, reported once', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  writeFileSync(file, '{"v":1}')
  const changes: number[] = []
  const errors: unknown[] = []
  let recoveries = 0
  const watcher = new ConfigWatcher(file, () => changes.push(Date.now()), {
    debounceMs: 20,
    retryMs: 10,
    onError: (err) => errors.push(err),
    onRecover: () => recoveries++,
  })
  t.teardown(() => watcher.close())
  await watcher.start()
  const failed = failReads(t, file, 'EMFILE', 3)
  // written while the watcher cannot read: no further event comes once reads work again
  writeFileSync(file, '{"v":2}')
  await waitFor('the change is seen', () => changes.length === 1)
  t.equal(failed(), 3, 'the read failed three times first')
  t.equal(errors.length, 1, 'one error for the run of failures')
  t.match(errors[0], { code: 'EMFILE' })
  t.equal(recoveries, 1, 'one recovery')
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(changes.length, 1, 'nothing more')
})

t.test('watcher: a read error at start is retried too, and a file that is only gone is not', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  writeFileSync(file, '{"v":1}')
  const changes: number[] = []
  const errors: unknown[] = []
  failReads(t, file, 'EIO', 1)
  const watcher = new ConfigWatcher(file, () => changes.push(Date.now()), { debounceMs: 20, retryMs: 10, onError: (err) => errors.push(err) })
  t.teardown(() => watcher.close())
  await watcher.start()
  // its content unknown at start: the read that works says it may have changed
  await waitFor('the file is read again', () => changes.length === 1)
  t.equal(errors.length, 1)
  const missing = join(dir, 'missing.json')
  const other = new ConfigWatcher(missing, () => changes.push(Date.now()), { debounceMs: 20, retryMs: 10, onError: (err) => errors.push(err) })
  t.teardown(() => other.close())
  await other.start()
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(errors.length, 1, 'a missing file is no error')
  t.equal(changes.length, 1, 'nor a change')
})

t.test('reloader: a load failed for a local reason carries its code; one failed for the file\'s does not', async (t) => {
  const config = validateConfig({ pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] })
  let failure: unknown
  const reloader = new Reloader({ load: async () => { throw failure }, apply: () => {}, current: () => config })
  const wrapped = new ConfigError(['cannot load: EMFILE: too many open files'], '/x.json')
  wrapped.cause = errno('EMFILE')
  const cases: Array<[string, unknown, string | undefined]> = [
    ['a raw EMFILE', errno('EMFILE'), 'EMFILE'],
    ['ENFILE', errno('ENFILE'), 'ENFILE'],
    ['ENOMEM', errno('ENOMEM'), 'ENOMEM'],
    ['EIO', errno('EIO'), 'EIO'],
    ['a ConfigError caused by EMFILE', wrapped, 'EMFILE'],
    ['ENOENT', errno('ENOENT'), undefined],
    ['EACCES', errno('EACCES'), undefined],
    ['EISDIR', errno('EISDIR'), undefined],
    ['an invalid config', new ConfigError(['routes: required']), undefined],
  ]
  for (const [name, err, code] of cases) {
    failure = err
    const result = await reloader.reload('signal')
    t.equal(result.result, 'error', name)
    t.equal(result.localFailure, code, `${name}: ${code ?? 'no local failure'}`)
  }
})

t.test('loadConfigFile: a read that fails with EMFILE keeps its cause; a missing file is still "no such file"', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({ pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] }))
  failReads(t, file, 'EMFILE', 1)
  const err = await loadConfigFile(file).then(() => undefined, (e: unknown) => e)
  t.type(err, ConfigError)
  t.match((err as ConfigError).cause, { code: 'EMFILE' })
  t.ok(await loadConfigFile(file), 'the next load reads it')
  const missing = await loadConfigFile(join(dir, 'none.json')).then(() => undefined, (e: unknown) => e)
  t.strictSame((missing as ConfigError).problems, ['no such file'])
})

t.test('POST /reload: 503 reload_failed for a local failure, 422 for an invalid file, 200 once it reads', async (t) => {
  const up = await TestUpstream.start({ name: 'a' })
  t.teardown(() => up.close())
  const dir = await tempDir(t)
  const file = join(dir, 'config.json')
  const config: GatewayConfig = { pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] }
  writeFileSync(file, JSON.stringify(config))
  const gw = await startGateway(config, { defaultMetrics: false, configFile: file })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })

  failReads(t, file, 'EMFILE', 1)
  const local = await adminRequest(admin, 'POST', '/reload')
  t.equal(local.status, 503)
  t.equal(local.body.error, 'reload_failed')
  t.equal(local.body.reason, 'EMFILE')
  t.match(local.body.problems, [/EMFILE/])
  const headers = await fetch(`${admin}/reload`, { method: 'POST' })
  t.equal(headers.status, 200, 'the next reload reads the file')
  t.match(await headers.json(), { result: 'unchanged' })

  writeFileSync(file, '{"pools":')
  const invalid = await adminRequest(admin, 'POST', '/reload')
  t.equal(invalid.status, 422, 'a broken file is still the file\'s problem')
  t.equal(invalid.body.error, 'invalid_config')
})

t.test('POST /reload: a loader failing with EMFILE answers 503 with Retry-After', async (t) => {
  const up = await TestUpstream.start({ name: 'a' })
  t.teardown(() => up.close())
  const config: GatewayConfig = { pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let fail = true
  const load = async (): Promise<ResolvedConfig> => {
    if (fail) throw errno('EMFILE')
    return validateConfig(config)
  }
  const gw = await startGateway(config, { defaultMetrics: false, load })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${admin}/reload`, { method: 'POST' })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '1')
  t.match(await res.json(), { error: 'reload_failed', reason: 'EMFILE' })
  fail = false
  t.equal((await fetch(`${admin}/reload`, { method: 'POST' })).status, 200)
})

// The watcher's retry schedule after read errors (doubling from retryMs, capped at 5 s; a run of failures ends at a
// read that works or finds no file, and the next run starts over), a path through a file being "no such file", and
// a reload that failed for the gateway's own shortage logged as such, never counted or recorded as a rejected config.
// readFile is replaced for one path (scriptReads, above); the watcher's
// retry timers are recorded from the global setTimeout and run at once (no clock is injectable into it).
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
