// A route's reads, canary or mirror pool must be another pool than the route's own: a split to the same pool splits
// nothing, a canary of it measures the stable pool against itself (its rollback judging the wrong traffic), and a
// mirror of it sends every mirrored request, writes included, to the same upstreams twice.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const parts: Record<string, Record<string, unknown>> = { reads: {}, canary: { weight: 10 }, mirror: {} }

for (const [part, extra] of Object.entries(parts)) {
  t.test(`a ${part} pool that is the route's own pool is refused`, async (t) => {
    t.strictSame(problemPaths(baseConfig({ routes: [{ path: '/a', pool: 'a', [part]: { pool: 'a', ...extra } }] })), [`routes[0].${part}.pool`])
    t.strictSame(problemPaths(baseConfig({ routes: [{ path: '/a', pool: 'a', [part]: { pool: 'b', ...extra } }] })), [], 'another pool is fine')
  })
}
