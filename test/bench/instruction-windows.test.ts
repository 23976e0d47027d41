import t from 'tap'
import { allWindowsPerRequest, compilingPerRequest, countTable, figure, medianWindow, windowLines, type CountWindow, type InstructionRun } from '../../bench/instruction-report.ts'

// magnitudes as counted: ~150,000 instructions per request for the floor, windows of 3,000 requests, a full
// collection's window ~1.5× the others and the next one ~10% more
const w = (perRequest: number, fullGcs = 0, compiling = 0): CountWindow => ({
  requests: 3000, seconds: 20, total: (perRequest + compiling) * 3000, mainThread: perRequest * 2900, compiling: compiling * 3000, fullGcs, scavenges: 6, functions: [],
})
const run = (windows: CountWindow[], contender = 'floor', round = 1): InstructionRun => ({ contender, connections: 50, round, windows })

t.test('a measurement\'s figure is its median window: a full collection and its aftermath count only in the mean', async (t) => {
  const r = run([w(151_200), w(150_900), w(232_000, 1), w(166_400), w(151_500)])
  t.equal(figure(r), 151_500)
  t.equal(allWindowsPerRequest(r), (151_200 + 150_900 + 232_000 + 166_400 + 151_500) / 5)
})

t.test('V8\'s optimizing compilers are left out of a window\'s figure and counted apart', async (t) => {
  const r = run([w(151_000, 0, 40_000), w(152_000), w(150_500, 0, 2_000)])
  t.equal(figure(r), 151_000, 'the window with 40,000 of compiling is not the most expensive one')
  t.equal(compilingPerRequest(r), 14_000)
  t.equal(allWindowsPerRequest(r), (151_000 + 40_000 + 152_000 + 150_500 + 2_000) / 3, 'the all-windows mean keeps compiling in')
  t.same(windowLines([r]), ['- floor c=50 round 1: 151.0k (+40.0k compiling), 152.0k, 150.5k (+2.0k compiling)'])
})

t.test('an even count takes the lower middle window, one window is its own median', async (t) => {
  t.equal(figure(run([w(153_000), w(151_000), w(152_000), w(154_000)])), 152_000)
  t.equal(medianWindow(run([w(150_000)])).total, 150_000 * 3000)
})

t.test('the window line keeps the order counted and marks full collections', async (t) => {
  t.same(windowLines([run([w(150_000), w(231_000, 1), w(151_000)])]), ['- floor c=50 round 1: 150.0k, 231.0k (GC), 151.0k'])
})

t.test('the count table gives each repeat, their spread, and the ratio to the floor', async (t) => {
  const runs = [
    run([w(150_000), w(151_000), w(152_000)], 'floor', 1),
    run([w(153_000), w(152_000), w(250_000, 1)], 'floor', 2),
    run([w(180_000), w(181_000), w(182_000)], 'switchyard-full', 1),
    run([w(183_000), w(182_000), w(184_000)], 'switchyard-full', 2),
  ]
  const lines = countTable(runs, ['floor', 'switchyard-full'], [50]).split('\n')
  t.equal(lines.length, 4)
  t.equal(lines[2], '| floor | 50 | 3 × 3,000 | 151,000 / 153,000 | 152,000 | 1.3% | 1.000× | 151,000 / 185,000 | 0 / 0 | 0 / 1 |')
  t.equal(lines[3], '| switchyard-full | 50 | 3 × 3,000 | 181,000 / 183,000 | 182,000 | 1.1% | 1.197× | 181,000 / 183,000 | 0 / 0 | 0 / 0 |')
})
