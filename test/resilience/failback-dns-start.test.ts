// failback 'manual' holds traffic on the standby after a failover, not at start-up: a pool whose primaries come from
// DNS has only its static backup until the first lookup answers, and that is no failover to hold.
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { poolConfig } from '../unit/config-fixtures.ts'

const NAME = 'pay.failback.test'

t.test("failback 'manual' with DNS primaries starts on them once discovered, and still holds a real failover", async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2', '127.0.0.3'] })
  const rt = new PoolRuntime('p', poolConfig({
    targets: [{ dns: NAME, port: 9, refreshMs: 60_000 }, { url: 'http://127.0.0.9:9', backup: true }],
    failback: 'manual',
  }), { dnsServers: [dns.address] })
  t.teardown(() => rt.close())
  t.equal(rt.pool.tier, 'backup', 'before the first lookup only the backup exists')
  t.equal(rt.pool.hold, undefined, 'starting on the backup is no failover')
  await rt.start()
  t.equal(rt.pool.tier, 'primary')
  t.equal(rt.pool.hold, undefined)
  t.strictSame(rt.pool.available().map((x) => x.id), ['127.0.0.2:9', '127.0.0.3:9'])

  const primaries = rt.pool.targets.filter((x) => !x.backup)
  for (const p of primaries) rt.pool.setStatus(p, { healthy: false })
  t.equal(rt.pool.tier, 'backup')
  t.equal(rt.pool.hold, 'failover', 'primaries that served failed: a failover')
  for (const p of primaries) rt.pool.setStatus(p, { healthy: true })
  t.equal(rt.pool.tier, 'backup', 'held until an operator fails back')
  rt.pool.failback()
  t.equal(rt.pool.tier, 'primary')
})
