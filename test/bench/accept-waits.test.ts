import t from 'tap'
import { acceptWaits } from '../../scripts/stress/stats.ts'

t.test('each connection is matched with the first accept on its port from a second before it was established', async (t) => {
  const cases: [name: string, established: [number, number][], accepted: [number, number[]][], waits: number[]][] = [
    ['accepted later', [[1000, 50]], [[1000, [80]]], [30]],
    ['accepted just before the client saw it established', [[1000, 50]], [[1000, [49.5]]], [-0.5]],
    ['an earlier connection on the same port is passed over', [[1000, 5000]], [[1000, [100, 5200]]], [200]],
    ['a later connection on the same port is not taken', [[1000, 5000]], [[1000, [5010, 9000]]], [10]],
    ['never accepted: left out', [[1000, 50], [1001, 60]], [[1001, [61]]], [1]],
    ['no accepts at all', [[1000, 50]], [], []],
    ['one wait per connection, in order', [[1, 10], [2, 20], [3, 30]], [[3, [90]], [1, [11]], [2, [25]]], [1, 5, 60]],
  ]
  for (const [name, established, accepted, waits] of cases) t.same(acceptWaits(established, new Map(accepted)), waits, name)
})
