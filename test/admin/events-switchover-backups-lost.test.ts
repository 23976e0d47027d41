// An operator's switchover holds traffic on the backups while any is available. When the last backup goes down the
// pool goes back to its primaries on its own: the feed says so as a tier change, not as another "switchover to backup
// targets by an operator", which would tell the operator traffic is where it no longer is.
import t from 'tap'
import { standbyConfig } from './standby.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('switched over, then the backup goes down: the feed records a tier change to primary', async (t) => {
  // never contacted; no health checks: the test sets the backup's health itself
  const gw = await startGateway(standbyConfig(), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  runtime.pool.switchover()
  t.equal(runtime.pool.tier, 'backup')
  t.equal(gw.gateway.events.list().filter((e) => e.pool === 'p').at(-1)?.kind, 'switchover')
  runtime.pool.setStatus(runtime.pool.targets.find((x) => x.backup)!, { healthy: false })
  t.equal(runtime.pool.tier, 'primary')
  const last = gw.gateway.events.list().filter((e) => e.pool === 'p').at(-1)
  t.equal(last?.kind, 'tier', 'a tier change, not a switchover')
  t.equal(gw.logs.filter((l) => l.pool === 'p' && l.event === 'tier').at(-1)?.tier, 'primary', 'logged with the tier now')
})
