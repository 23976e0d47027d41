// Triggers that arrive while a reload runs fold into one follow-up run. A file event may reuse the running config
// when the file still holds its bytes; an explicit reload (SIGHUP, POST /reload) must run the config again. So when a
// file event folds first and an explicit reload after it, the follow-up is the explicit one: its load is told so,
// and its result is labelled so. Before, it carried the file event's trigger, and could answer the operator's
// POST /reload from a reused config without reading the files the config reads.
import t from 'tap'
import { Reloader, type ReloadTrigger } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

const config = (targets: number): ResolvedConfig => validateConfig({
  pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('an explicit trigger folded after a file event makes the follow-up explicit', async (t) => {
  let running = config(1)
  const loads: { trigger: ReloadTrigger; resolve: (c: ResolvedConfig) => void }[] = []
  const reloader = new Reloader({
    load: (trigger) => new Promise((resolve) => loads.push({ trigger, resolve })),
    apply: (next) => { running = next },
    current: () => running,
  })
  const first = reloader.reload('admin')
  const folded = [reloader.reload('file'), reloader.reload('signal'), reloader.reload('file')]
  loads[0]!.resolve(config(2))
  t.match(await first, { result: 'success', trigger: 'admin' })
  await new Promise((resolve) => setImmediate(resolve))
  t.strictSame(loads.map((l) => l.trigger), ['admin', 'signal'], 'the follow-up load is told it is explicit')
  loads[1]!.resolve(config(3))
  const results = await Promise.all(folded)
  t.match(results[0], { result: 'success', trigger: 'signal' })
  t.equal(results[1], results[0])
  t.equal(results[2], results[0])

  // file events alone stay file events
  const again = reloader.reload('signal')
  const fileOnly = reloader.reload('file')
  loads[2]!.resolve(config(3))
  await again
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(loads[3]!.trigger, 'file')
  loads[3]!.resolve(config(3))
  t.match(await fileOnly, { result: 'unchanged', trigger: 'file' })
})

// A large config's validation, comparison and build each block the event loop for tens of milliseconds: the reload
// lets waiting I/O (requests, timers) run between them, and a shutdown begun meanwhile still stops it before apply.
t.test('a reload yields to the event loop between its load, its comparison and its apply', async (t) => {
  let running = config(1)
  const order: string[] = []
  let refuse: 'shutting_down' | undefined
  const reloader = new Reloader({
    load: async () => { order.push('load'); setImmediate(() => order.push('waiting I/O')); return config(2) },
    apply: (next) => { order.push('apply'); running = next },
    current: () => { order.push('compare'); return running },
    refuse: () => refuse,
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.strictSame(order.filter((s, i) => s !== order[i - 1]), ['load', 'waiting I/O', 'compare', 'apply'], 'I/O waiting at the load ran before the comparison')

  // a shutdown begun while the comparison's turn ends (here: by the comparison itself) stops the reload before apply
  order.length = 0
  let shutdownDuringCompare = true
  const stopping = new Reloader({
    load: async () => config(3),
    apply: (next) => { order.push('apply'); running = next },
    current: () => { if (shutdownDuringCompare) setImmediate(() => { refuse = 'shutting_down' }); return running },
    refuse: () => refuse,
  })
  t.match(await stopping.reload('admin'), { result: 'error', refused: 'shutting_down' })
  t.notOk(order.includes('apply'), 'not applied')
  shutdownDuringCompare = false
})
