// Target weights are capped at 10,000: two weights of 1e308 summed to Infinity in the balancers, and every
// request to the pool failed (500). Fractional weights stay allowed.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const withWeights = (...weights: number[]): Record<string, unknown> => baseConfig({
  pools: { a: { targets: weights.map((weight, i) => ({ url: `http://127.0.0.1:${i + 1}`, weight })) } },
})

t.test('weights from a fraction up to 10,000 are accepted', async (t) => {
  t.strictSame(problemPaths(withWeights(0.001, 0.5, 1, 3, 10_000)), [])
  t.strictSame(problemPaths(baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1', { dns: 'x.example', port: 80, weight: 10_000 }] } } })), [])
})

t.test('a weight above 10,000 is refused at its path', async (t) => {
  t.strictSame(problemPaths(withWeights(1e308, 1e308)), ['pools.a.targets[0].weight', 'pools.a.targets[1].weight'])
  t.strictSame(problemPaths(withWeights(1, 10_001)), ['pools.a.targets[1].weight'])
  t.strictSame(problemPaths(baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1', { dns: 'x.example', port: 80, weight: 1e308 }] } } })), ['pools.a.targets[1].weight'])
})
