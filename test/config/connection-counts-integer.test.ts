// The pool's connection counts (connections.maxPerTarget, maxQueuedPerTarget, maxRequests) are whole numbers of at
// least 1: a fraction is refused at its path, as 0 is (config.test.ts), rather than read as a bound the code rounds
// up (`active >= 2.5` lets a third request in). connections.maxRequests at 1, its lowest, is accepted.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const withConnections = (connections: Record<string, unknown>): Record<string, unknown> => baseConfig({
  pools: { a: { targets: ['http://127.0.0.1:1'], connections } },
})

t.test('a fractional count is refused at its path', async (t) => {
  for (const field of ['maxPerTarget', 'maxQueuedPerTarget', 'maxRequests']) {
    t.strictSame(problemPaths(withConnections({ [field]: 2.5 })), [`pools.a.connections.${field}`], `${field} 2.5`)
  }
})

t.test('whole counts from 1 are accepted', async (t) => {
  t.strictSame(problemPaths(withConnections({ maxPerTarget: 1, maxQueuedPerTarget: 1, maxRequests: 1 })), [])
  t.strictSame(problemPaths(withConnections({ maxRequests: 100_000 })), [])
})
