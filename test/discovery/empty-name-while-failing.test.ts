// Belongs in test/discovery/. Gaps found by mutation testing (review r36, mutants AF98, AF100, AF101, AF103, AF104,
// AF106) in what is said of a DNS name with no address (src/discovery/dns.ts 'noAddress', src/upstream/registry.ts
// #listen, src/admin/event-feed.ts), each once, in order, never at every refresh:
// - addresses that come back while a query still fails are said once that query works again (a name still failing is
//   not "working again");
// - a set emptied while a query fails is said to have no address once, with ENOTFOUND when the other query said
//   NXDOMAIN, and the lookups that work again after do not say it twice;
// - a name carried empty through a rebuilding reload, NODATA, is said again with ENODATA after failing lookups;
// - the event feed says "has no address", not "keeping the known targets".
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { Tap } from '../proxy/setup.ts'

const NAME = 'orders.default.svc.cluster.local'
const WARN = 40
const INFO = 30
const config = (connectMs = 1000) => ({ log: { level: 'info' as const }, pools: { p: { targets: [{ dns: NAME, port: 9, refreshMs: 30 }], timeouts: { connectMs } } }, routes: [{ path: '/', pool: 'p' }] })

async function setup (t: Tap): Promise<{ dns: TestDnsServer; gw: TestGateway; lines: () => Array<[number, unknown]>; refreshes: (n: number) => Promise<void>; reload: () => Promise<void> }> {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  let next = config()
  const gw = await startGateway(next, { dnsServers: [dns.address], defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  return {
    dns,
    gw,
    lines: () => gw.logs.filter((l) => l.dns === NAME).map((l): [number, unknown] => [l.level as number, l.code]),
    refreshes: async (n) => { const until = dns.count(NAME, 'AAAA') + n; await waitFor(() => dns.count(NAME, 'AAAA') >= until) },
    reload: async () => {
      next = config(2000) // a pool setting: the pool is rebuilt, its discovery carried
      t.equal((await gw.gateway.reload('admin')).result, 'success')
    },
  }
}

t.test('addresses back while a query fails: said once, when that query works again', async (t) => {
  const { dns, gw, lines, refreshes } = await setup(t) // NXDOMAIN
  await waitFor(() => lines().length >= 1)
  dns.modeFor = { AAAA: 'servfail' }
  await waitFor(() => lines().length >= 2)
  dns.set(NAME, { a: ['127.0.0.1'] })
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)
  await refreshes(4)
  t.strictSame(lines(), [[WARN, 'ENOTFOUND'], [WARN, 'ESERVFAIL']], 'no recovery while AAAA lookups fail')
  dns.modeFor = {}
  await waitFor(() => lines().length >= 3)
  await refreshes(4)
  t.strictSame(lines(), [[WARN, 'ENOTFOUND'], [WARN, 'ESERVFAIL'], [INFO, undefined]], 'said once, when they work')
})

t.test('a set emptied while a query fails: no address, said once, with the other query\'s NXDOMAIN', async (t) => {
  const { dns, gw, lines, refreshes } = await setup(t)
  dns.set(NAME, { a: ['127.0.0.1'] })
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)
  dns.modeFor = { AAAA: 'servfail' }
  await waitFor(() => lines().length >= 1)
  dns.delete(NAME)
  await waitFor(() => lines().length >= 2)
  await refreshes(3)
  t.strictSame(lines(), [[WARN, 'ESERVFAIL'], [WARN, 'ENOTFOUND']])
  const feed = gw.gateway.events.list().filter((e) => e.pool === 'p' && e.kind === 'target' && e.target === undefined).map((e) => e.message)
  t.match(feed.at(-1), new RegExp(`^DNS name ${NAME.replaceAll('.', '\\.')} has no address \\(ENOTFOUND\\)$`), 'the feed says it has no address')
  t.notMatch(feed.at(-1), /keeping/, 'and keeps nothing')
  dns.modeFor = {}
  await refreshes(6)
  t.strictSame(lines(), [[WARN, 'ESERVFAIL'], [WARN, 'ENOTFOUND']], 'lookups working again say nothing more: no address was the last word')
})

t.test('a NODATA name carried through a rebuilding reload is said again with ENODATA after failing lookups', async (t) => {
  const { dns, lines, refreshes, reload } = await setup(t)
  dns.set(NAME, {}) // the name exists, with no A or AAAA record
  await waitFor(() => lines().length >= 1)
  await reload()
  await refreshes(3)
  dns.mode = 'servfail'
  await waitFor(() => lines().length >= 2)
  await refreshes(3)
  dns.mode = 'answer'
  await refreshes(6)
  t.strictSame(lines(), [[WARN, 'ENODATA'], [WARN, 'ESERVFAIL'], [WARN, 'ENODATA']])
})
