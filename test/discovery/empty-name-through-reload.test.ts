// A DNS name with no address, carried into a pool a reload rebuilt, is still a name with no address: after a spell of
// failing lookups it is said to have none again, never "working again". The rebuilt pool did not know it had been
// said, so the first working lookup after a failure read as a recovery (review r36e). The same sequence without the
// reload is the reference.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import type { Tap } from '../proxy/setup.ts'

const NAME = 'typo.default.svc.cluster.local'
const config = (connectMs: number) => ({ log: { level: 'info' as const }, pools: { p: { targets: [{ dns: NAME, port: 9, refreshMs: 30 }], timeouts: { connectMs } } }, routes: [{ path: '/', pool: 'p' }] })

/** What the log said of the name, in order: level and code (undefined for the recovery line). */
async function said (t: Tap, reload: boolean): Promise<Array<[number, unknown]>> {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  let next = config(1000)
  const gw = await startGateway(next, { dnsServers: [dns.address], defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const lines = () => gw.logs.filter((l) => l.dns === NAME).map((l): [number, unknown] => [l.level as number, l.code])
  const refreshes = async (n: number) => { const until = dns.count(NAME, 'A') + n; await waitFor(() => dns.count(NAME, 'A') >= until) }
  await waitFor(() => lines().length >= 1)
  if (reload) {
    next = config(2000) // a pool setting: the pool is rebuilt, its discovery carried
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    await refreshes(3)
  }
  dns.mode = 'servfail'
  await waitFor(() => lines().length >= 2)
  await refreshes(3)
  dns.mode = 'answer' // NXDOMAIN still
  await refreshes(6)
  return lines()
}

t.test('a carried empty name is still said to have no address after failing lookups', async (t) => {
  const reference = await said(t, false)
  t.strictSame(reference, [[40, 'ENOTFOUND'], [40, 'ESERVFAIL'], [40, 'ENOTFOUND']], 'without a reload')
  t.strictSame(await said(t, true), reference, 'through a rebuilding reload alike')
})
