// Retired (route, pool) bindings are kept by pair (src/metrics/retired.ts pairKey): two different pairs whose names
// concatenate alike, (a, bc) and (ab, c), must stay two entries. Were they one, the first retired would be overwritten
// (never detached: its series exported for good) and route() could take back the other pair's binding.
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'

const pairLines = (text: string, route: string, pool: string): string[] => text.split('\n')
  .filter((l) => l.startsWith('switchyard_requests_total{') && l.includes(`route="${route}"`) && l.includes(`pool="${pool}"`))

t.test('two retired pairs whose names concatenate alike both go after their final counts are shown', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  for (const [route, pool] of [['a', 'bc'], ['ab', 'c']] as const) {
    const b = m.route(route, pool)
    b.begin(); b.request('GET', 200, 0.01)
  }
  m.forgetRoute('a')
  m.forgetRoute('ab')
  const first = await m.render()
  t.equal(pairLines(first, 'a', 'bc').length, 1, '(a, bc) final count shown')
  t.equal(pairLines(first, 'ab', 'c').length, 1, '(ab, c) final count shown')
  const second = await m.render()
  t.same(pairLines(second, 'a', 'bc'), [], '(a, bc) gone')
  t.same(pairLines(second, 'ab', 'c'), [], '(ab, c) gone')
})

t.test('a pair taken back is its own binding, not another pair\'s', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const abc = m.route('a', 'bc'); abc.begin()
  const abC = m.route('ab', 'c'); abC.begin()
  m.forgetRoutePool('a', 'bc')
  m.forgetRoutePool('ab', 'c')
  t.equal(m.route('a', 'bc'), abc, '(a, bc) takes back its own')
  t.equal(m.route('ab', 'c'), abC, '(ab, c) takes back its own')
  abc.request('GET', 200, 0.01); abC.request('GET', 200, 0.01)
})
