// `lastError` is "the last failed query's error": the one a lookup reported last as a lookupError event. When both
// queries of a lookup fail (A by SERVFAIL, AAAA by timeout), a caller that reads lastError after the lookup sees the
// same error its lookupError listener saw last, not another. (src/discovery/dns.ts, #lookup: `errors.at(-1)`.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import type { DnsLookupError } from '../../src/discovery/answer.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'payment.default.svc.cluster.local'

t.test('both queries fail: lastError is the error reported last', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.modeFor = { A: 'servfail', AAAA: 'hang' }
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
  t.teardown(() => d.stop())
  const reported: DnsLookupError[] = []
  d.on('lookupError', (error) => reported.push(error))
  await d.refresh()
  t.same(reported.map((e) => e.code), ['ESERVFAIL', 'ETIMEOUT'])
  t.equal(d.lastError, reported.at(-1))
  t.equal(d.lastError?.code, 'ETIMEOUT')
})
