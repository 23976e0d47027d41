// A reload's hash and its compare are two steps (src/config/reloader.ts, betweenSteps), each followed, when it kept
// the loop busy 10 ms or more, by a 20 ms pause: an exchange begun during the hash is answered before the compare
// begins, one begun during the compare before the apply (reload-pause-after-long-step.test.ts pins the pause after
// the load). A reload whose steps are all short sets no pause at all: it only lets a poll phase run between them,
// so a small config's reload (or an unchanged one) is not held 20 ms per step for nothing.
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { block, config, exchange, GENEROUS_PAUSE_MS, reloaderTimers } from './reload-steps.ts'

t.test('an exchange begun during a long hash is answered before the compare begins', async (t) => {
  const order: string[] = []
  const send = await exchange(t, order)
  let running = config(1)
  const next = config(2)
  let reads = 0
  const reloader = new Reloader({
    stepPauseMs: GENEROUS_PAUSE_MS,
    load: () => Promise.resolve(next),
    apply: (applied) => { order.push('apply'); running = applied },
    // the hash step reads the running config once: a long hash, during which a forwarded request goes out
    current: () => {
      if (reads++ === 0) {
        block(15)
        send()
      }
      return running
    },
    // the compare's first read is of the starting config (a diff's restartRequired)
    get started (): ResolvedConfig | undefined {
      if (!order.includes('compare')) order.push('compare')
      return undefined
    },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.equal(order[0], 'answered', `the exchange ended before the compare began (${order.join(', ')})`)
})

t.test('an exchange begun during a long compare is answered before the apply', async (t) => {
  const order: string[] = []
  const send = await exchange(t, order)
  let running = config(1)
  const next = config(2)
  let compared = 0
  const reloader = new Reloader({
    stepPauseMs: GENEROUS_PAUSE_MS,
    load: () => Promise.resolve(next),
    apply: (applied) => { order.push('apply'); running = applied },
    current: () => running,
    get started (): ResolvedConfig | undefined {
      if (compared++ === 0) {
        block(15)
        send()
      }
      return undefined
    },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.equal(order[0], 'answered', `the exchange ended before the apply (${order.join(', ')})`)
})

t.test('a reload whose steps are all short sets no pause', async (t) => {
  const configs = [config(1), config(2), config(3)]
  let running = configs[0]!
  let loads = 0
  const reloader = new Reloader({
    load: () => Promise.resolve(configs[++loads % 3]!),
    apply: (next) => { running = next },
    current: () => running,
  })
  // a first run compiles the hash and the compare; the second is timed by the pauses it asks for
  t.match(await reloader.reload('admin'), { result: 'success' })
  const timers = await reloaderTimers(async () => { t.match(await reloader.reload('admin'), { result: 'success' }) })
  const pauses = timers.filter((ms) => ms !== undefined && ms >= 20).length
  t.equal(pauses, 0, 'no step pause')
})
