// A route's mirror must not be the pool that answers the request (its canary or its read replicas): every request
// that pool answers would reach it twice, POSTs included.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const withRoute = (route: Record<string, unknown>): Record<string, unknown> => baseConfig({ routes: [{ path: '/a', pool: 'a', ...route }] })

t.test('mirror.pool equal to canary.pool is refused', async (t) => {
  t.strictSame(problemPaths(withRoute({ canary: { pool: 'b', weight: 10 }, mirror: { pool: 'b' } })), ['routes[0].mirror.pool'])
})

t.test('mirror.pool equal to reads.pool is refused', async (t) => {
  t.strictSame(problemPaths(withRoute({ reads: { pool: 'b' }, mirror: { pool: 'b' } })), ['routes[0].mirror.pool'])
})

t.test('a mirror of a third pool is fine', async (t) => {
  t.strictSame(problemPaths(baseConfig({
    pools: { a: { targets: ['http://127.0.0.1:1'] }, b: { targets: ['http://127.0.0.1:2'] }, c: { targets: ['http://127.0.0.1:3'] }, d: { targets: ['http://127.0.0.1:4'] } },
    routes: [{ path: '/a', pool: 'a', canary: { pool: 'b', weight: 10 }, reads: { pool: 'c' }, mirror: { pool: 'd' } }],
  })), [])
})
