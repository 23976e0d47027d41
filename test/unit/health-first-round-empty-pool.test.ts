// A health checker started on a pool with no targets yet (a DNS pool whose first answer had no address) has
// nothing to wait for: firstRound() resolves at once (health/active.ts), or the gateway's readiness would wait for
// a probe that is never sent.
import t from 'tap'
import { ActiveHealthChecker } from '../../src/health/active.ts'
import { RoundRobinBalancer } from '../../src/balancer/round-robin.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { ManualClock } from '../helpers/clock.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('firstRound() of a checker started on an empty pool resolves without any probe', async (t) => {
  const clock = new ManualClock()
  const config = poolConfig({ healthCheck: { intervalMs: 10_000, timeoutMs: 5_000 } })
  const pool = new UpstreamPool('p', config, [], new RoundRobinBalancer(), clock)
  const checker = new ActiveHealthChecker(pool, config.healthCheck!, { clock, random: () => 0 })
  t.teardown(async () => { checker.stop(); await pool.close() })
  checker.start()
  let resolved = false
  void checker.firstRound().then(() => { resolved = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(resolved, true, 'resolved with no target to probe')
  t.equal(clock.pendingTimers, 0, 'and nothing armed')
})
