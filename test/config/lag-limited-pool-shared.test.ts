// A replica that reports more than reads.maxLagMs is taken out of its whole pool: a pool read from with a lag limit
// that also served a route, a canary or a mirror would turn those away for a lag they never asked about.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

// pool b is health-checked, as a pool read with maxLagMs must be (the only way a replica reports its lag)
const withRoutes = (...routes: Array<Record<string, unknown>>): Record<string, unknown> => {
  const config = baseConfig({ routes })
  ;(config.pools as Record<string, Record<string, unknown>>).b!.healthCheck = { path: '/health' }
  return config
}
const reading = { path: '/r', pool: 'a', reads: { pool: 'b', maxLagMs: 1000 } }

t.test('a lag-limited reads pool as another route\'s pool', async (t) => {
  t.strictSame(problemPaths(withRoutes(reading, { path: '/x', pool: 'b' })), ['routes[1].pool'])
})

t.test('as a canary pool, or a mirror pool', async (t) => {
  t.strictSame(problemPaths(withRoutes(reading, { path: '/x', pool: 'c', canary: { pool: 'b', weight: 10 } })), ['routes[1].canary.pool'])
  t.strictSame(problemPaths(withRoutes({ path: '/x', pool: 'c', mirror: { pool: 'b' } }, reading)), ['routes[0].mirror.pool'])
})

t.test('shared by reading routes, or without a lag limit, it is fine', async (t) => {
  t.strictSame(problemPaths(withRoutes(reading, { path: '/s', pool: 'c', reads: { pool: 'b', maxLagMs: 500 } })), [])
  t.strictSame(problemPaths(withRoutes({ path: '/r', pool: 'a', reads: { pool: 'b' } }, { path: '/x', pool: 'b' })), [])
})
