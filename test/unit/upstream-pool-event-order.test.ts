// A target's status change is announced before the tier change it causes: the event feed and the log read
// "a unhealthy, then failover", not the failover first.
import t from 'tap'
import { buildPool } from './config-fixtures.ts'

t.test('status before tier, both ways', async (t) => {
  const f = buildPool(['p1', 'b1'])
  t.teardown(() => f.pool.close())
  const events: string[] = []
  f.pool.on('status', (_target, status) => events.push(`status healthy=${status.healthy}`))
  f.pool.on('tier', (tier) => events.push(`tier ${tier}`))
  f.pool.setStatus(f.byName.p1!, { healthy: false })
  f.pool.setStatus(f.byName.p1!, { healthy: true })
  t.strictSame(events, ['status healthy=false', 'tier backup', 'status healthy=true', 'tier primary'])
})
