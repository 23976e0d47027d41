// A query that gets no answer is tried twice by default (DnsDiscoveryOptions.tries, default 2) before the lookup
// fails: one lost UDP datagram must not fail a lookup and report the name as failing. Pins the default, which the
// gateway's pools use (src/upstream/registry.ts passes no tries).
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'silent.default.svc.cluster.local'

t.test('a silent server is asked twice per query before the lookup fails', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.mode = 'hang'
  // a short per-try timeout, so the test does not wait for the default one; tries is left to its default
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100 })
  t.teardown(() => d.stop())
  await d.refresh()
  t.equal(d.lastError?.code, 'ETIMEOUT')
  t.equal(server.count(NAME, 'A'), 2, 'A asked twice')
  t.equal(server.count(NAME, 'AAAA'), 2, 'AAAA asked twice')
})
