// A reload that replaces a pool's discovered name by two new names keeps the old name's addresses serving until
// every new name has answered for good: one name answering while the other's first answer is still unconfirmed
// (an NXDOMAIN counts only once confirmed) must not drop the old addresses, or the pool shrinks to a fraction of
// its capacity (Envoy warms a cluster before it replaces the old one)
// (src/upstream/registry.ts #endWarmupOnceDecided(): `!this.#discoveries.every((d) => d.decided)`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'

const OLD = 'old.every.test'
const config = (names: string[]) => validateConfig({
  pools: { p: { targets: names.map((dns) => ({ dns, port: 9, refreshMs: 60_000 })) } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('the old addresses stay until every new name has decided', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
  dns.set('one.every.test', { a: ['127.0.0.4'] })
  const options = { dnsServers: [dns.address] }
  const first = buildPools(config([OLD]), options).pools.get('p')!
  await first.start()
  const rt = await reloadedPool(t, first, config(['one.every.test', 'two.every.test']), options)
  t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.4:9'], 'the old addresses still serve beside the answered name')
})
