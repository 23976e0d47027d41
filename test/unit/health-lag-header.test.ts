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

/** What a probe answered 200 with this lag header reports. */
async function answerWithLagHeader (header: string) {
  const exchange = new ProbeExchange()
  const c = new FakeController() as unknown as Dispatcher.DispatchController
  exchange.onRequestStart(c)
  exchange.onResponseStart(c, 200, { [LAG_HEADER]: header })
  exchange.onResponseEnd()
  return exchange.answer
}

t.test('a lag header with a fraction reports that lag', async (t) => {
  const cases: [header: string, lagMs: number | undefined][] = [['12.5', 12.5], ['0.25', 0.25], ['12.', undefined], ['.5', undefined]]
  for (const [header, lagMs] of cases) {
    t.same(await answerWithLagHeader(header), lagMs === undefined ? { status: 200 } : { status: 200, lagMs }, `${LAG_HEADER}: ${header}`)
  }
})

// A lag header holds any plain number the same number in a JSON body may be: a replica that computes its lag as
// now - lastReplicatedAt before it has replicated anything sends an epoch's 13 digits (x-replication-lag-ms:
// 1712345678901). The header stopped at 12 digits and took that for no valid lag, which changes nothing: the
// replica's last valid lag (a few ms) kept it in reads while it reported being decades behind (README, Read/write
// split: a replica reporting more than maxLagMs takes no reads). A number too large to be finite stays invalid.
t.test('a lag header of 13 digits and more reports that lag', async (t) => {
  const cases: [header: string, lagMs: number | undefined][] = [
    ['999999999999', 999999999999],
    ['1712345678901', 1712345678901],
    ['9007199254740993', 9007199254740992], // past 2^53: read as the nearest double, as JSON.parse does
    ['9'.repeat(400), undefined],
  ]
  for (const [header, lagMs] of cases) {
    t.same(await answerWithLagHeader(header), lagMs === undefined ? { status: 200 } : { status: 200, lagMs }, `${LAG_HEADER}: ${header.slice(0, 20)}`)
  }
})
