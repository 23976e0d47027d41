// "Failed lookups never decide" a name's set, and the empty answers that do must come in a row: a failed lookup
// between two NXDOMAINs breaks the run, as it resets the count that empties a known set (answer.ts nextState). A
// flapping resolver (NXDOMAIN, SERVFAIL, NXDOMAIN) must not have a renamed pool give up its old addresses for a
// name that never answered twice in a row. (src/discovery/dns.ts, #lookup: a failure resets the empty answers.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'unknown.default.svc.cluster.local'

t.test('an empty answer, a failure, an empty answer: not decided; one more empty answer decides', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
  t.teardown(() => d.stop())
  await d.refresh()
  server.mode = 'servfail'
  await d.refresh()
  t.equal(d.lastError?.code, 'ESERVFAIL')
  server.mode = 'answer'
  await d.refresh()
  t.equal(d.decided, false, 'the failure broke the run of empty answers')
  await d.refresh()
  t.equal(d.decided, true, 'two in a row')
})
