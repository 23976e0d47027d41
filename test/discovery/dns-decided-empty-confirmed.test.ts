// An unknown name (NXDOMAIN) has decided its set once emptyConfirmations lookups in a row (default 2) say so, and
// not before: a pool renamed to such a name gives up the old name's addresses exactly then, neither on the first
// NXDOMAIN (a resolver still syncing) nor a lookup later than needed. (src/discovery/dns.ts, #lookup: `decided`.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'unknown.default.svc.cluster.local'

t.test('two empty answers in a row decide an unknown name; one does not', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
  t.teardown(() => d.stop())
  t.equal(d.decided, false, 'nothing looked up yet')
  await d.refresh()
  t.equal(d.decided, false, 'one NXDOMAIN is not trusted yet')
  await d.refresh()
  t.equal(d.decided, true, 'the second in a row decides: no targets')
  t.same(d.urls, [])
})
