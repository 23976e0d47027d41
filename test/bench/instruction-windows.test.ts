import t from 'tap'
import { allWindowsPerRequest, compilingPerRequest, countTable, figure, figureWindows, isQuiet, windowLines, type CountWindow, type InstructionRun } from '../../bench/instruction-report.ts'

// magnitudes as counted: ~150,000 instructions per request for the floor, windows of 1,500 requests; a full
// collection's window ~1.5× the others, compiling bursts of 5,000-117,000 per request
const w = (perRequest: number, fullGcs = 0, compiling = 0): CountWindow => ({
  requests: 1500, seconds: 10, total: (perRequest + compiling) * 1500, mainThread: perRequest * 1450, compiling: compiling * 1500, fullGcs, scavenges: 3, functions: [],
})
const run = (windows: CountWindow[], contender = 'floor', round = 1): InstructionRun => ({ contender, connections: 50, round, windows })

t.test('a window is quiet when V8 compiled less than 0.3% of its instructions and ran no full collection', async (t) => {
  t.ok(isQuiet(w(150_000)))
  t.ok(isQuiet(w(150_000, 0, 400)), '400 compiling in 150,400 is under 0.3%')
  t.notOk(isQuiet(w(150_000, 0, 500)), '500 is over')
  t.notOk(isQuiet(w(150_000, 1)))
})

t.test('the figure is the median of the quiet windows; compiling, full collections and what they leave behind count only in the mean', async (t) => {
  // a full collection, then a window still running deoptimized code while it is recompiled
  const r = run([w(151_200), w(150_900), w(232_000, 1), w(166_400, 0, 40_000), w(151_500), w(152_000)])
  t.same(figureWindows(r).map((x) => x.total / x.requests), [151_200, 150_900, 151_500, 152_000])
  t.equal(figure(r), 151_200, 'the lower of the middle two')
  t.equal(compilingPerRequest(r), 40_000 / 6)
  t.equal(allWindowsPerRequest(r), (151_200 + 150_900 + 232_000 + 166_400 + 40_000 + 151_500 + 152_000) / 6)
})

t.test('with no quiet window the figure is the median of all, compiling left out', async (t) => {
  const r = run([w(173_500, 0, 10_400), w(172_500, 0, 21_700), w(161_100, 0, 117_300)])
  t.equal(figureWindows(r).length, 3)
  t.equal(figure(r), 172_500)
})

t.test('the window line keeps the order counted, marks quiet windows, and shows compiling and full collections', async (t) => {
  t.same(windowLines([run([w(150_000), w(231_000, 1), w(151_000, 0, 40_000)])]), ['- floor c=50 round 1: 150.0k*, 231.0k (GC), 151.0k (+40.0k compiling)'])
})

t.test('the count table gives each repeat, their spread, and the ratio to the floor', async (t) => {
  const runs = [
    run([w(150_000), w(151_000), w(152_000)], 'floor', 1),
    run([w(153_000), w(250_000, 1), w(152_000)], 'floor', 2),
    run([w(180_000), w(181_000), w(182_000)], 'switchyard-full', 1),
    run([w(183_000, 0, 9_000), w(182_000, 0, 9_000), w(184_000, 0, 9_000)], 'switchyard-full', 2),
  ]
  const lines = countTable(runs, ['floor', 'switchyard-full'], [50]).split('\n')
  t.equal(lines.length, 4)
  t.equal(lines[2], '| floor | 50 | 3 × 1,500 | 3 / 2 | 151,000 / 152,000 | 151,500 | 0.7% | 1.000× | 151,000 / 185,000 | 0 / 0 | 0 / 1 |')
  t.equal(lines[3], '| switchyard-full | 50 | 3 × 1,500 | 3 / unsettled | 181,000 / 183,000 | 182,000 | 1.1% | 1.201× | 181,000 / 192,000 | 0 / 9,000 | 0 / 0 |')
})
