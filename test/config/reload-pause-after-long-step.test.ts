// A request that waited through a long reload step (a large config's validation: tens of ms) is read and forwarded
// in the loop's next poll phase, and its upstream's answer is relayed in a later one. With only one poll phase
// between two steps the answer waited through the next step too (5,000 routes: a request caught by a reload waited
// through 2-4 steps, review r39b). After a step that kept the loop busy 10 ms or more, the reload now lets it run
// 20 ms before the next: an exchange begun in the long step is answered before the compare begins.
import { readFile } from 'node:fs'
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import { block, config, exchange, GENEROUS_PAUSE_MS, reloaderTimers } from './reload-steps.ts'

t.test('an exchange begun during a long load is answered before the compare', async (t) => {
  const order: string[] = []
  const send = await exchange(t, order)
  let running = config(1)
  const reloader = new Reloader({
    stepPauseMs: GENEROUS_PAUSE_MS,
    load: () => new Promise((resolve) => {
      // in the poll phase, as loadConfigFile's file read ends
      readFile(import.meta.filename, () => {
        block(15)
        // the request a client sent meanwhile, forwarded: its answer comes back through the loop
        send()
        resolve(config(2))
      })
    }),
    apply: (next) => { order.push('apply'); running = next },
    current: () => { order.push('compare'); return running },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.equal(order[0], 'answered', `the exchange ended before the compare began (${order.join(', ')})`)
})

t.test('the pause after a long step is 20 ms unless the reloader is told otherwise', async (t) => {
  let running = config(1)
  const reloader = new Reloader({
    load: () => new Promise((resolve) => { readFile(import.meta.filename, () => { block(15); resolve(config(2)) }) }),
    apply: (next) => { running = next },
    current: () => running,
  })
  const pauses = await reloaderTimers(async () => { t.match(await reloader.reload('admin'), { result: 'success' }) })
  t.same(pauses, [20], 'one pause, after the long load, of 20 ms')
})
