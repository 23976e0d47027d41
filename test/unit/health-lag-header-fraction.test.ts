// A lag header with a fraction of a millisecond (x-replication-lag-ms: 12.5, as a replica computing its lag from
// timestamps may send) is a valid lag (health/probe.ts), as the same number in a JSON body is. Refusing it would
// leave such a replica's lag unknown: lagging, out of reads, however far it has caught up.
import type { Dispatcher } from 'undici'
import t from 'tap'
import { LAG_HEADER, ProbeExchange } from '../../src/health/probe.ts'

class FakeController {
  aborted: Error | undefined
  abort (reason: Error): void { this.aborted = reason }
}

t.test('a lag header with a fraction reports that lag', async (t) => {
  const cases: [header: string, lagMs: number | undefined][] = [['12.5', 12.5], ['0.25', 0.25], ['12.', undefined], ['.5', undefined]]
  for (const [header, lagMs] of cases) {
    const exchange = new ProbeExchange()
    const c = new FakeController() as unknown as Dispatcher.DispatchController
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, 200, { [LAG_HEADER]: header })
    exchange.onResponseEnd()
    t.same(await exchange.answer, lagMs === undefined ? { status: 200 } : { status: 200, lagMs }, `${LAG_HEADER}: ${header}`)
  }
})
