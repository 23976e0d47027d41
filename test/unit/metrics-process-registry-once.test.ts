// Node's default process metrics are collected once per process: collectDefaultMetrics starts an event-loop delay
// monitor and a GC observer that cannot be stopped, so a registry made per scrape (or per gateway) would add a set
// of them at every scrape, a leak that grows with the scrape rate and reports each GC to every set.
import t from 'tap'
import { processRegistry } from '../../src/metrics/process.ts'

t.test('every call hands out the same registry', async (t) => {
  const first = await processRegistry()
  const second = await processRegistry()
  t.equal(second, first, 'one registry for the process')
  t.match(await first.metrics(), /^process_cpu_user_seconds_total /m, 'holding the default process metrics')
})
