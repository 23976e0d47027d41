import t from 'tap'
import type { LoadResult } from '../../bench/load.ts'
import { getTable, headline, median, postTable, summarise, type Case, type Measurement } from '../../bench/report.ts'

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
