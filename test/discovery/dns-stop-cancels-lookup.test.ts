// stop() cancels a lookup in flight: a discovery stopped (its pool retired by a reload, the gateway shutting down)
// while the name server is silent does not wait out the resolver's timeout and retries, and start()'s promise
// settles at once. (src/discovery/dns.ts, stop: resolver.cancel().)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'orders.default.svc.cluster.local'

t.test('stop during a lookup to a silent server settles start() without waiting for the timeout', async (t) => {
  // the lookup would wait 120 s for its answer: only a cancelled one lets start() settle within the test's time
  t.setTimeout(10_000)
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.mode = 'hang'
  const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 60_000, tries: 2 })
  const started = d.start()
  await new Promise<void>((resolve) => { const poll = (): void => { if (server.count(NAME, 'A') > 0) resolve(); else setImmediate(poll) }; poll() })
  d.stop()
  await started
  t.same(d.urls, [])
  t.equal(d.lastError, undefined, 'the cancelled queries are not reported')
})
