// start() "resolves when the first lookup is applied": a second start() while that lookup runs (two callers starting
// the same discovery) resolves only once it is applied too, so neither caller reads an empty set that is about to
// be filled. (src/discovery/dns.ts, start: a started discovery returns the lookup in flight.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'orders.default.svc.cluster.local'

t.test('a second start during the first lookup resolves once that lookup is applied', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.set(NAME, { a: ['10.1.0.1'] })
  const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 60_000 }, { servers: [server.address], timeoutMs: 1000, tries: 1 })
  t.teardown(() => d.stop())
  const first = d.start()
  await d.start()
  t.same(d.urls, ['http://10.1.0.1:9000'], 'the first lookup is applied')
  await first
  t.equal(server.count(NAME, 'A'), 1, 'one lookup')
})
