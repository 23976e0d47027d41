// The config reloader (src/config/reloader.ts): each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import { Reloader, type ReloadResult } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import type { ConfigDiff } from '../../src/config/diff.ts'
import { configHash } from '../../src/config/hash.ts'
import { ConfigError } from '../../src/errors.ts'

// When apply fails, the config in force is still the one before the reload: the result's restartRequired says what
// that config waits for against the one the process started with (config/reloader.ts), not what the refused config
// would have needed. Reporting the refused config's restart-only changes would tell an operator a restart is
// pending for a config that never applied.
t.test('config-reloader-failed-apply-restart', async (t) => {
  function config (port: number, targets = 1): ResolvedConfig {
    return validateConfig({ server: { port }, pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } }, routes: [{ path: '/', pool: 'p' }] })
  }

  t.test('a failed apply reports what the running config waits for, not the refused one', async (t) => {
    const started = config(8080)
    const running = started
    const reloader = new Reloader({
      load: async () => config(9090, 2),
      apply: () => { throw new Error('pool rebuild failed') },
      current: () => running,
      started,
    })
    const result = await reloader.reload('admin')
    t.equal(result.result, 'error')
    t.strictSame(result.diff?.restartRequired, ['server.port'], 'the refused config changed server.port')
    t.strictSame(result.restartRequired, [], 'the config in force is the started one: nothing waits')
  })
})

// A reloader not told the config the process started with (ReloaderOptions.started) cannot say which settings wait
// for a restart: its results carry no restartRequired at all (config/reloader.ts), while the diff still names the
// restart-only settings that changed from the previous config. A restartRequired there would claim to describe what
// differs from the running process without knowing it.
t.test('config-reloader-no-started', async (t) => {
  function config (port: number): ResolvedConfig {
    return validateConfig({ server: { port }, pools: { p: { targets: ['http://10.0.0.1:3000'] } }, routes: [{ path: '/', pool: 'p' }] })
  }

  t.test('without started, a reload that changes server.port reports it in the diff only', async (t) => {
    let running = config(8080)
    const reloader = new Reloader({ load: async () => config(9090), apply: (next) => { running = next }, current: () => running })
    const result = await reloader.reload('admin')
    t.equal(result.result, 'success')
    t.strictSame(result.diff?.restartRequired, ['server.port'], 'the diff names it')
    t.notOk('restartRequired' in result, 'the result carries no restartRequired')
    const again = await reloader.reload('admin')
    t.equal(again.result, 'unchanged')
    t.notOk('restartRequired' in again, 'nor does an unchanged one')
  })
})

// A load or apply error is reported as one line (config/reloader.ts): problems are shown to operators (the admin
// API's 422 body, the reload log line), and a multi-line message carries a stack, file paths of the gateway's own
// code among them. Only the first line of the message is kept.
t.test('config-reloader-problem-one-line', async (t) => {
  function config (targets: number): ResolvedConfig {
    return validateConfig({ pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } }, routes: [{ path: '/', pool: 'p' }] })
  }

  t.test('a multi-line load or apply error becomes its first line only', async (t) => {
    const multiline = (text: string): Error => new Error(`${text}\n    at load (file:///srv/switchyard/src/config/load.ts:1:1)`)
    const running = config(1)
    const failingLoad = new Reloader({ load: () => Promise.reject(multiline('cannot read routes.config.ts')), apply: () => {}, current: () => running })
    t.strictSame((await failingLoad.reload('admin')).problems, ['load: cannot read routes.config.ts'])
    const failingApply = new Reloader({ load: async () => config(2), apply: () => { throw multiline('pool rebuild failed') }, current: () => running })
    t.strictSame((await failingApply.reload('admin')).problems, ['apply: pool rebuild failed'])
  })
})

// A reload that applies a restart-only change (server.port) says in its result that the setting now waits for a
// restart (config/reloader.ts: restartRequired, from the diff against the config the process started with). The
// admin API and the reload log report it from there; an empty list would tell the operator the new port is live.
t.test('config-reloader-success-restart-required', async (t) => {
  function config (port: number): ResolvedConfig {
    return validateConfig({ server: { port }, pools: { p: { targets: ['http://10.0.0.1:3000'] } }, routes: [{ path: '/', pool: 'p' }] })
  }

  t.test('a successful reload that moves server.port reports it as waiting for a restart', async (t) => {
    const started = config(8080)
    let running = started
    const reloader = new Reloader({ load: async () => config(9090), apply: (next) => { running = next }, current: () => running, started })
    const result = await reloader.reload('admin')
    t.equal(result.result, 'success')
    t.strictSame(result.restartRequired, ['server.port'])
  })
})


t.test('config-reloader', async (t) => {
  /** A valid config whose payment pool has `targets` targets: each count is a different config. */
  function config (targets = 1): ResolvedConfig {
    return validateConfig({
      pools: { payment: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } },
      routes: [{ path: '/', pool: 'payment' }],
    })
  }

  interface Harness {
    reloader: Reloader
    /** The config the fake gateway runs. */
    running: () => ResolvedConfig
    applied: [ResolvedConfig, ConfigDiff][]
    results: ReloadResult[]
  }

  function harness (load: () => Promise<ResolvedConfig>, apply: (next: ResolvedConfig) => void | Promise<void> = () => {}): Harness {
    let running = config(1)
    const applied: [ResolvedConfig, ConfigDiff][] = []
    const results: ReloadResult[] = []
    const reloader = new Reloader({
      load,
      apply: async (next, diff) => {
        applied.push([next, diff])
        await apply(next)
        running = next
      },
      current: () => running,
      onResult: (r) => results.push(r),
    })
    return { reloader, running: () => running, applied, results }
  }

  t.test('one reload: what it reports and whether it applies', async (t) => {
    const next = config(2)
    const multiline = new Error('cannot read routes.config.ts\n    at load (file:///x.ts:1:1)')
    const cases: {
      label: string
      load: () => Promise<ResolvedConfig>
      apply?: () => void | Promise<void>
      expected: Partial<ReloadResult>
      applies: number
      runs: ResolvedConfig | 'previous'
    }[] = [
      { label: 'a new config is applied', load: async () => next, expected: { result: 'success', hash: configHash(next) }, applies: 1, runs: next },
      { label: 'a deep-equal copy of the running config is unchanged', load: async () => config(1), expected: { result: 'unchanged', hash: configHash(config(1)) }, applies: 0, runs: 'previous' },
      {
        label: 'an invalid config reports every problem and is not applied',
        load: async () => { throw new ConfigError(['routes[0].pool: names unknown pool \'x\'', 'pools: is required']) },
        expected: { result: 'error', problems: ['routes[0].pool: names unknown pool \'x\'', 'pools: is required'] },
        applies: 0,
        runs: 'previous',
      },
      { label: 'any other load error is one line, never a stack', load: async () => { throw multiline }, expected: { result: 'error', problems: ['load: cannot read routes.config.ts'] }, applies: 0, runs: 'previous' },
      { label: 'a thrown non-error is reported too', load: () => Promise.reject('EACCES'), expected: { result: 'error', problems: ['load: EACCES'] }, applies: 0, runs: 'previous' },
      {
        label: 'apply throwing is an error result',
        load: async () => next,
        apply: () => { throw new TypeError('pool rebuild failed') },
        expected: { result: 'error', hash: configHash(next), problems: ['apply: pool rebuild failed'] },
        applies: 1,
        runs: 'previous',
      },
      {
        label: 'apply rejecting is an error result',
        load: async () => next,
        apply: () => Promise.reject(new Error('drain failed')),
        expected: { result: 'error', hash: configHash(next), problems: ['apply: drain failed'] },
        applies: 1,
        runs: 'previous',
      },
    ]
    for (const c of cases) {
      const h = harness(c.load, c.apply)
      const previous = h.running()
      const result = await h.reloader.reload('admin')
      t.match(result, { trigger: 'admin', ...c.expected }, c.label)
      t.equal(result.problems === undefined, c.expected.problems === undefined, `${c.label}: problems only on error`)
      t.equal(h.applied.length, c.applies, `${c.label}: apply called ${c.applies} time(s)`)
      t.equal(h.running(), c.runs === 'previous' ? previous : c.runs, `${c.label}: the running config`)
      t.strictSame(h.results, [result], `${c.label}: onResult saw the result once`)
      if (c.applies > 0) t.same(result.diff?.targets.added, ['payment/http://10.0.0.2:3000'], `${c.label}: the diff is reported`)
    }
  })

  t.test('apply receives the new config and its diff against the running one', async (t) => {
    const next = config(3)
    const h = harness(async () => next)
    const result = await h.reloader.reload('signal')
    t.equal(h.applied.length, 1)
    const [applied, diff] = h.applied[0]!
    t.equal(applied, next)
    t.equal(result.diff, diff, 'the result carries the diff apply was given')
    t.strictSame(diff.targets.added, ['payment/http://10.0.0.2:3000', 'payment/http://10.0.0.3:3000'])
  })

  t.test('a reloader keeps working after a failed apply', async (t) => {
    let failApply = true
    const h = harness(async () => config(2), () => { if (failApply) throw new Error('boom') })
    t.equal((await h.reloader.reload('file')).result, 'error')
    failApply = false
    t.equal((await h.reloader.reload('file')).result, 'success')
    t.equal((await h.reloader.reload('file')).result, 'unchanged', 'and now runs the new config')
  })

  /** A load() the test answers by hand, counting how many run at once. */
  function controlledLoad (t: Test): { load: () => Promise<ResolvedConfig>; pending: PromiseWithResolvers<ResolvedConfig>[]; maxActive: () => number; calls: () => number } {
    const pending: PromiseWithResolvers<ResolvedConfig>[] = []
    let active = 0
    let maxActive = 0
    let calls = 0
    t.teardown(() => { for (const p of pending) p.reject(new Error('test over')) })
    return {
      pending,
      maxActive: () => maxActive,
      calls: () => calls,
      load: async () => {
        calls++
        maxActive = Math.max(maxActive, ++active)
        const deferred = Promise.withResolvers<ResolvedConfig>()
        pending.push(deferred)
        try {
          return await deferred.promise
        } finally {
          active--
        }
      },
    }
  }

  /** Lets the reloader react to a resolved load (a few microtask turns are not enough once apply is async). */
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  t.test('triggers during a run fold into exactly one follow-up run, which loads the newest file', async (t) => {
    const loads = controlledLoad(t)
    const h = harness(loads.load)
    const first = h.reloader.reload('file')
    const during = [h.reloader.reload('signal'), h.reloader.reload('admin'), h.reloader.reload('file')]
    t.equal(loads.calls(), 1, 'one load while the first run is busy')

    loads.pending[0]!.resolve(config(2))
    t.match(await first, { result: 'success', trigger: 'file' })
    await settle()
    t.equal(loads.calls(), 2, 'the follow-up started')

    // the file changed again meanwhile: the follow-up reads what is there now
    const newest = config(3)
    loads.pending[1]!.resolve(newest)
    const results = await Promise.all(during)
    t.match(results[0], { result: 'success', trigger: 'signal' }, 'the follow-up carries the first folded trigger')
    t.equal(results[1], results[0], 'every folded caller gets the follow-up result')
    t.equal(results[2], results[0])
    t.strictSame(results[0]!.diff?.targets.added, ['payment/http://10.0.0.3:3000'], 'diffed against the config the first run applied')
    t.equal(h.running(), newest)
    t.equal(loads.calls(), 2, 'exactly one follow-up')
    t.equal(loads.maxActive(), 1, 'never two loads at once')
    t.equal(h.results.length, 2, 'onResult once per run')
  })

  t.test('a trigger during the follow-up gets its own follow-up; a trigger after all settled starts afresh', async (t) => {
    const loads = controlledLoad(t)
    const h = harness(loads.load)
    const first = h.reloader.reload('file')
    const second = h.reloader.reload('file')
    loads.pending[0]!.resolve(config(2))
    await first
    await settle()
    const third = h.reloader.reload('admin')
    t.not(third, second, 'not folded into the run that is already going')
    loads.pending[1]!.resolve(config(2))
    t.match(await second, { result: 'unchanged' })
    await settle()
    loads.pending[2]!.resolve(config(3))
    t.match(await third, { result: 'success', trigger: 'admin' })

    const fourth = h.reloader.reload('signal')
    t.equal(loads.calls(), 4, 'an idle reloader loads at once')
    loads.pending[3]!.resolve(config(3))
    t.match(await fourth, { result: 'unchanged', trigger: 'signal' })
    t.equal(loads.maxActive(), 1)
  })

  t.test('a slow apply is part of the run: a trigger during it waits for a follow-up', async (t) => {
    const loads = controlledLoad(t)
    const applying = Promise.withResolvers<void>()
    let applies = 0
    const h = harness(loads.load, () => { applies++; return applies === 1 ? applying.promise : undefined })
    const first = h.reloader.reload('file')
    loads.pending[0]!.resolve(config(2))
    await settle()
    t.equal(applies, 1, 'apply is running')
    const during = h.reloader.reload('admin')
    await settle()
    t.equal(loads.calls(), 1, 'no load while apply runs')
    applying.resolve()
    t.match(await first, { result: 'success' })
    await settle()
    loads.pending[1]!.resolve(config(3))
    t.match(await during, { result: 'success', trigger: 'admin' })
  })

  t.test('a reload asked for from onResult becomes the follow-up, never a concurrent run', async (t) => {
    const loads = controlledLoad(t)
    const fromObserver: Promise<ReloadResult>[] = []
    let running = config(1)
    const reloader: Reloader = new Reloader({
      load: loads.load,
      apply: (next) => { running = next },
      current: () => running,
      onResult: () => { if (fromObserver.length === 0) fromObserver.push(reloader.reload('admin')) },
    })
    const first = reloader.reload('file')
    loads.pending[0]!.resolve(config(2))
    await first
    t.equal(fromObserver.length, 1)
    await settle()
    t.equal(loads.calls(), 2)
    loads.pending[1]!.resolve(config(2))
    t.match(await fromObserver[0], { result: 'unchanged', trigger: 'admin' })
    t.equal(loads.maxActive(), 1)
  })

  t.test('an onResult that throws changes nothing', async (t) => {
    let running = config(1)
    const reloader = new Reloader({
      load: async () => config(2),
      apply: (next) => { running = next },
      current: () => running,
      onResult: () => { throw new Error('logger down') },
    })
    t.match(await reloader.reload('file'), { result: 'success' })
    t.match(await reloader.reload('file'), { result: 'unchanged' })
  })
})
