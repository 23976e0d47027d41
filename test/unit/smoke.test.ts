import t from 'tap'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'

t.test('smoke: round robin picks from candidates', async (t) => {
  const b = new RoundRobinBalancer()
  const a = { url: 'a', weight: 1, inFlight: 0 }
  t.equal(b.pick([a], {}), a)
})
