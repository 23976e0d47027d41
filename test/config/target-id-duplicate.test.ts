// Targets are named by host:port (metrics, /status, the admin API): one pool cannot hold two with one id, whatever
// their scheme or spelling (`http://h:443` and `https://h`, `http://h` and `http://h:80`).
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const pool = (...targets: string[]): Record<string, unknown> => baseConfig({ pools: { a: { targets } } })

t.test('one host:port twice is refused', async (t) => {
  t.strictSame(problemPaths(pool('http://10.0.0.1:443', 'https://10.0.0.1')), ['pools.a.targets[1].url'])
  t.strictSame(problemPaths(pool('http://10.0.0.1', 'http://10.0.0.1:80')), ['pools.a.targets[1].url'])
})

t.test('other ports, other hosts, or the same target in another pool are fine', async (t) => {
  t.strictSame(problemPaths(pool('http://10.0.0.1', 'https://10.0.0.1')), [])
  t.strictSame(problemPaths(baseConfig({ pools: { a: { targets: ['https://10.0.0.1'] }, b: { targets: ['http://10.0.0.1:443'] } }, routes: [{ path: '/', pool: 'a' }] })), [])
})
