import t from 'tap'
import type { LoadResult } from '../../bench/load.ts'
import { getTable, headline, median, pairedBars, pairedRatio, postTable, summarise, type Case, type Measurement } from '../../bench/report.ts'

t.test('median of odd and even counts; NaN for none', async (t) => {
  const cases: [values: number[], expected: number][] = [
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[10, 10, 1], 10],
  ]
  for (const [values, expected] of cases) t.equal(median(values), expected, values.join(','))
  t.ok(Number.isNaN(median([])))
})

function m (contender: string, kind: Case, connections: number, round: number, rps: number, cpu: number, extra: Partial<LoadResult> = {}): Measurement {
  return {
    contender,
    case: kind,
    connections,
    round,
    cpuUsPerRequest: cpu,
    peakRssMiB: 100 + round,
    load: { requests: rps * 10, seconds: 10, requestsPerSecond: rps, p99Ms: round, non2xx: 0, socketErrors: 0, ...extra },
  }
}

const runs: Measurement[] = [
  m('floor', 'get', 50, 1, 10_000, 50), m('floor', 'get', 50, 2, 12_000, 40), m('floor', 'get', 50, 3, 11_000, 60),
  m('raw', 'get', 50, 1, 8000, 90), m('raw', 'get', 50, 2, 6000, 110), m('raw', 'get', 50, 3, 7000, 100, { non2xx: 2, socketErrors: 1 }),
  m('switchyard-full', 'get', 50, 1, 7700, 120), m('switchyard-full', 'get', 50, 2, 7000, 125), m('switchyard-full', 'get', 50, 3, 9000, 150),
  m('raw', 'get', 256, 1, 5000, 100),
  m('floor', 'post', 8, 1, 400, 3000), m('raw', 'post', 8, 1, 200, 6000),
]

t.test('one row per case, contender and concurrency; each figure its own median; errors summed', async (t) => {
  const rows = summarise(runs, ['floor', 'raw', 'switchyard-full'])
  t.same(rows.map((r) => [r.case, r.contender, r.connections, r.rounds]), [
    ['get', 'floor', 50, 3], ['get', 'raw', 50, 3], ['get', 'raw', 256, 1], ['get', 'switchyard-full', 50, 3],
    ['post', 'floor', 8, 1], ['post', 'raw', 8, 1],
  ])
  const raw = rows[1]!
  t.same(
    [raw.requestsPerSecond, raw.minRequestsPerSecond, raw.maxRequestsPerSecond, raw.cpuUsPerRequest, raw.p99Ms, raw.peakRssMiB, raw.non2xx, raw.socketErrors],
    [7000, 6000, 8000, 100, 2, 102, 2, 1])
  // the medians of different figures may come from different rounds
  const full = rows[3]!
  t.same([full.requestsPerSecond, full.cpuUsPerRequest], [7700, 125])
})

t.test('ratios: req/s against raw, CPU per request against the floor, at the same concurrency', async (t) => {
  const rows = summarise(runs, ['floor', 'raw', 'switchyard-full'])
  t.same(headline(rows), [
    "c=50: switchyard-full costs 2.50× the floor's CPU per request; its req/s is 1.10× raw @fastify/http-proxy's",
  ])
  const get = getTable(rows).split('\n')
  t.equal(get.length, 2 + 4)
  t.match(get[4]!, /^\| raw \| 256 \| 5000 \| 5000–5000 \| .* \| 1\.00× \| – \|$/, 'no floor at c=256: no ratio, not a made-up one')
  t.match(get[5]!, /^\| switchyard-full \| 50 \| 7700 \| 7000–9000 \| 2\.00 \| 125\.0 \| 102 \| 0 \| 0 \| 1\.10× \| 2\.50× \|$/)
  const post = postTable(rows, 1024 * 1024).split('\n')
  t.equal(post.length, 2 + 2)
  t.match(post[2]!, /^\| floor \| 8 \| 400 \| 400 \| .* \| 2\.00× \| 1\.00× \|$/, '1 MiB per request: MiB/s equals req/s')
  t.match(post[3]!, /^\| raw \| 8 \| 200 \| 200 \| .* \| 1\.00× \| 2\.00× \|$/)
})

t.test('paired ratios: a ÷ b within each round both ran, then the median; rounds one side missed are left out', async (t) => {
  const cpu = (x: Measurement): number => x.cpuUsPerRequest
  // round 2 was slow for both: the ratio of medians (125 / 50 = 2.5) pairs rounds, the paired median does not
  t.same(pairedRatio(runs, 'switchyard-full', 'floor', 'get', 50, cpu), { median: 2.5, min: 2.4, max: 3.125, rounds: 3 })
  t.same(pairedRatio(runs, 'raw', 'floor', 'get', 256, cpu), undefined, 'no floor at c=256')
  const logged: Measurement[] = [
    m('switchyard-full', 'get', 50, 1, 9700, 70), m('switchyard-nolog', 'get', 50, 1, 10_000, 68),
    // a busy round for the second: a ratio of medians would call logging free
    m('switchyard-full', 'get', 50, 2, 9600, 71), m('switchyard-nolog', 'get', 50, 2, 8000, 90),
    m('switchyard-full', 'get', 50, 3, 9500, 72), m('switchyard-nolog', 'get', 50, 3, 10_000, 69),
    m('switchyard-nolog', 'get', 50, 4, 12_000, 60),
    m('switchyard-full', 'post', 8, 1, 300, 3000), m('raw', 'post', 8, 1, 200, 6000),
  ]
  const paired = pairedRatio(logged, 'switchyard-full', 'switchyard-nolog', 'get', 50, (x) => x.load.requestsPerSecond)
  t.equal(paired?.rounds, 3, 'round 4 had no switchyard-full')
  t.equal(paired?.median, 0.97)
  t.same(pairedBars(logged), [
    'c=50: the access log costs 3.0% (-20.0% to 5.0% over 3 rounds) of switchyard-nolog\'s req/s (bar 4: at most 10%)',
    'uploads, c=8: switchyard-full\'s MiB/s ÷ raw @fastify/http-proxy\'s: 1.50× (1.50–1.50× over 1 round) (bar 5: at least 1.2×)',
  ])
  t.same(pairedBars(runs).slice(0, 2), [
    'c=50: switchyard-full\'s CPU per request ÷ the floor\'s: 2.50× (2.40–3.13× over 3 rounds) (bar 1: at most 1.15×)',
    'c=50: switchyard-full\'s req/s ÷ raw @fastify/http-proxy\'s: 1.17× (0.96–1.29× over 3 rounds)',
  ])
})
