// A lookup in which a query failed is not a working lookup: a pool whose name's lookups fail reports "DNS lookups of
// X fail" and nothing more until one works, never "work again" in the same breath (the operator's event feed would
// say the name recovered while it still fails). (src/discovery/dns.ts, #lookup: the 'lookup' event's ok;
// src/upstream/registry.ts: `if (ok && failing) this.emit('discovery', ...)`.)
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'failing.events.test'

t.test('a failing first lookup reports the failure only', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.mode = 'servfail'
  const config = validateConfig({ pools: { p: { targets: [{ dns: NAME, port: 9, refreshMs: 60_000 }] } }, routes: [{ path: '/', pool: 'p' }] })
  const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  const events: (string | undefined)[] = []
  rt.on('discovery', (_name, error) => events.push(error?.code))
  await rt.start()
  t.strictSame(events, ['ESERVFAIL'], 'failing, and not recovered')
})
