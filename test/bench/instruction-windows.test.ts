import t from 'tap'
import { allWindowsPerRequest, quietPerRequest, quietWindows, windowLines, type CountWindow, type InstructionRun } from '../../bench/instruction-report.ts'

const w = (perRequest: number, fullGcs = 0): CountWindow => ({ requests: 1000, seconds: 10, total: perRequest * 1000, mainThread: 0, fullGcs, scavenges: 0, functions: [] })
const run = (windows: CountWindow[]): InstructionRun => ({ contender: 'floor', connections: 50, round: 1, windows })

t.test('a measurement is its quiet windows, the lowest third; a full collection and its aftermath count only in all windows', async (t) => {
  const r = run([w(166), w(165), w(254, 1), w(287), w(210), w(166)])
  t.same(quietWindows(r).map((x) => x.total / x.requests), [165, 166])
  t.equal(quietPerRequest(r), 165.5)
  t.equal(allWindowsPerRequest(r), (166 + 165 + 254 + 287 + 210 + 166) / 6)
})

t.test('a third is rounded up, and never less than one window', async (t) => {
  t.equal(quietWindows(run([w(3), w(1), w(2), w(4)])).length, 2)
  t.same(quietWindows(run([w(7)])).map((x) => x.total), [7000])
})

t.test('the window line marks quiet windows and full collections, in the order counted', async (t) => {
  t.same(windowLines([run([w(150_000), w(300_000, 1), w(151_000), w(200_000)])]), ['- floor c=50 round 1: 150.0k*, 300.0k (GC), 151.0k*, 200.0k'])
})
