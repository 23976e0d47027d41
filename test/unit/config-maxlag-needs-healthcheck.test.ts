// reads.maxLagMs is judged from the replica pool's health checks, the only way a replica reports its lag: on a
// pool without healthCheck it was accepted and did nothing (a replica 10 minutes behind took reads). Refused,
// with the path of the field that cannot work.
import t from 'tap'
import { problemPaths as paths } from '../config/problems.ts'

const HEALTH = { path: '/health' }
const config = (replicas: Record<string, unknown>, reads: Record<string, unknown>): unknown => ({
  secret: 'a-secret-of-16-chars',
  pools: { primary: { targets: ['http://127.0.0.1:1'] }, replicas: { targets: ['http://127.0.0.1:2'], ...replicas } },
  routes: [{ path: '/a', pool: 'primary' }, { path: '/m', pool: 'primary', reads: { pool: 'replicas', ...reads } }],
})

t.test('maxLagMs on a reads pool without healthCheck is refused at its path', async (t) => {
  t.strictSame(paths(config({}, { maxLagMs: 1000 })), ['routes[1].reads.maxLagMs'])
})

t.test('with a healthCheck, or without maxLagMs, it is fine', async (t) => {
  t.strictSame(paths(config({ healthCheck: HEALTH }, { maxLagMs: 1000 })), [])
  t.strictSame(paths(config({}, {})), [])
})

t.test('a reads pool that does not exist is reported once, as such', async (t) => {
  t.strictSame(paths({ ...config({}, {}) as object, routes: [{ path: '/m', pool: 'primary', reads: { pool: 'nope', maxLagMs: 1000 } }] }), ['routes[0].reads.pool'])
})
