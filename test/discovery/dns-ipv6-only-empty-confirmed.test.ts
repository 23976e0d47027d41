// A name with only AAAA records (an IPv6-only Service) is emptied only once emptyConfirmations lookups in a row find
// no address, as a name with A records is: one spurious NXDOMAIN from a resolver still syncing must not blank an
// IPv6-only pool that is serving. (src/discovery/answer.ts, nextState: a set is "empty" only when both families are.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'v6only.default.svc.cluster.local'

t.test('one empty answer keeps an IPv6-only set; the second in a row empties it', async (t) => {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.set(NAME, { aaaa: ['fd00::1'] })
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
  t.teardown(() => d.stop())
  const removed: string[][] = []
  d.on('change', (_urls, _added, gone) => { if (gone.length > 0) removed.push([...gone]) })
  await d.refresh()
  t.same(d.urls, ['http://[fd00::1]:8080'])

  server.delete(NAME)
  await d.refresh()
  t.same(d.urls, ['http://[fd00::1]:8080'], 'one NXDOMAIN is not trusted yet')
  t.same(removed, [])
  t.equal(d.lastError, undefined, 'an answer, not a failure')

  await d.refresh()
  t.same(d.urls, [], 'confirmed by the next lookup')
  t.same(removed, [['http://[fd00::1]:8080']])
})
