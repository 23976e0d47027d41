// The system clock caps a timer at the longest delay Node waits: a longer one (a drain deadline of requestMs × 2 +
// 1 s with requestMs at its maximum) would otherwise fire at once.
import t from 'tap'
import { MAX_TIMER_MS, systemClock } from '../../src/runtime.ts'

t.test('a delay past the maximum waits, it does not fire at once', async (t) => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.name) }
  process.on('warning', onWarning)
  let fired = false
  const timer = systemClock.setTimeout(() => { fired = true }, MAX_TIMER_MS * 2 + 1000)
  await new Promise((resolve) => setTimeout(resolve, 50))
  systemClock.clearTimeout(timer)
  process.off('warning', onWarning)
  t.equal(fired, false)
  t.notOk(warnings.includes('TimeoutOverflowWarning'), 'no overflow warning')
})
