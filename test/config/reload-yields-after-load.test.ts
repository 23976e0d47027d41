// A reload's steps block the event loop in turns (a 5,000-route config: tens of ms each), with the loop's timers and
// I/O served between them. A load ends in the poll phase (its file read's callback), and the yield after it was one
// setImmediate: that runs in the same loop turn's check phase, so the compare ran straight after the validation,
// and what waited through both (requests, timers) waited for both (a 5,000-route reload: ~100 ms in one block
// instead of ~40-60). The yield now passes a timers and a poll phase before the compare.
import { readFile } from 'node:fs'
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import { block, config } from './reload-steps.ts'

t.test('a timer due during the load runs before the compare begins', async (t) => {
  let running = config(1)
  const order: string[] = []
  const reloader = new Reloader({
    // ends in the poll phase, as loadConfigFile does (its readFile), after blocking past a timer's due time
    load: () => new Promise((resolve) => {
      readFile(import.meta.filename, () => {
        setTimeout(() => order.push('timer'), 1)
        block(5)
        resolve(config(2))
      })
    }),
    apply: (next) => { order.push('apply'); running = next },
    current: () => { order.push('compare'); return running },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.equal(order[0], 'timer', 'the timer ran between the load and the compare')
  t.ok(order.indexOf('compare') < order.indexOf('apply'))
})

t.test('the same between the compare and the apply', async (t) => {
  let running = config(1)
  const order: string[] = []
  let compared = 0
  const reloader = new Reloader({
    load: () => Promise.resolve(config(2)),
    apply: (next) => { order.push('apply'); running = next },
    current: () => {
      // the compare's first read of the running config: a timer due while it blocks
      if (compared++ === 0) {
        setTimeout(() => order.push('timer'), 1)
        block(5)
      }
      order.push('compare')
      return running
    },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.strictSame(order.filter((o) => o !== 'compare'), ['timer', 'apply'], 'the timer ran before the apply')
})
