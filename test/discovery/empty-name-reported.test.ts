// A DNS target whose name does not exist (a typo'd Service name: NXDOMAIN) or has no A/AAAA record (NODATA) leaves
// its pool answering 503 no_available_target; the operator must be told why. The name is reported once, at warn, in
// the log and the event feed (/events), with the code (ENOTFOUND, ENODATA), when its decided lookups leave it with no
// address, and once, at info, when addresses come back; never at every refresh. A real DNS server on 127.0.0.1.
// (src/discovery/dns.ts #lookup: 'noAddress'; src/upstream/registry.ts #listen: the pool's 'discovery' event.)
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'

const NAME = 'paymnet.default.svc.cluster.local'
const WARN = 40
const INFO = 30

async function setup (t: Test): Promise<{ dns: TestDnsServer; gw: TestGateway; said: () => LogRecord[]; fed: () => number; refreshes: (n: number) => Promise<void>; get: () => Promise<number> }> {
  const up = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { up.closeAllConnections(); up.close() })
  const port = (up.address() as AddressInfo).port
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  const gw = await startGateway({
    pools: { p: { targets: [{ dns: NAME, port, refreshMs: 30 }] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { dnsServers: [dns.address], defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  return {
    dns,
    gw,
    // the log lines that name the DNS name, and the feed's entries about the pool that name no target (a name's)
    said: () => gw.logs.filter((l) => l.dns === NAME),
    fed: () => gw.gateway.events.list().filter((e) => e.pool === 'p' && e.kind === 'target' && e.target === undefined).length,
    refreshes: async (n) => {
      const until = dns.count(NAME, 'A') + n
      await waitFor(() => dns.count(NAME, 'A') >= until)
    },
    get: async () => {
      const res = await fetch(`${gw.url}/x`)
      await res.text()
      return res.status
    },
  }
}

const levelsAndCodes = (lines: LogRecord[]): [number, unknown][] => lines.map((l) => [l.level, l.code])

t.test('NXDOMAIN: reported once with ENOTFOUND at warn; addresses back: once at info, and the target serves', async (t) => {
  const { dns, said, fed, refreshes, get } = await setup(t) // NAME unknown: NXDOMAIN
  await waitFor(() => said().length >= 1)
  await refreshes(6)
  t.strictSame(levelsAndCodes(said()), [[WARN, 'ENOTFOUND']], 'one warning, ENOTFOUND, across several refreshes')
  t.equal(fed(), 1, 'one /events entry')
  t.equal(await get(), 503, 'no target meanwhile')

  dns.set(NAME, { a: ['127.0.0.1'] })
  await waitFor(() => said().length >= 2)
  await refreshes(6)
  t.strictSame(levelsAndCodes(said()), [[WARN, 'ENOTFOUND'], [INFO, undefined]], 'addresses back: said once, at info')
  t.equal(fed(), 2, 'and in /events once')
  t.equal(await get(), 200, 'the target serves')
})

t.test('NODATA: the name exists with no A/AAAA record: reported once with ENODATA', async (t) => {
  const { dns, said, fed, refreshes } = await setup(t)
  dns.set(NAME, {})
  await waitFor(() => said().length >= 1)
  await refreshes(6)
  t.strictSame(levelsAndCodes(said()), [[WARN, 'ENODATA']])
  t.equal(fed(), 1)
})

t.test('a set that goes from some addresses to none (confirmed) is reported once', async (t) => {
  const { dns, gw, said, fed, refreshes, get } = await setup(t)
  dns.set(NAME, { a: ['127.0.0.1'] })
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)
  await refreshes(3)
  t.strictSame(said(), [], 'a name that resolves: nothing said')
  t.equal(await get(), 200)

  dns.delete(NAME)
  await waitFor(() => said().length >= 1)
  await refreshes(6)
  t.strictSame(levelsAndCodes(said()), [[WARN, 'ENOTFOUND']], 'emptied: one warning')
  t.equal(fed(), 1)
  t.equal(gw.gateway.status().pools.p!.targets.filter((x) => x.state !== 'draining' && x.state !== 'drained').length, 0, 'the set was emptied')
})
