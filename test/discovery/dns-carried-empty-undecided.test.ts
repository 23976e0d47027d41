// A name carried over a reload with no known address has not decided its set: failed lookups never decide it, and
// one NXDOMAIN does not until confirmed. So when a reload drops one of a pool's names while the resolver fails, the
// dropped name's addresses keep serving (as the warm-up after a rename does) instead of the pool being emptied
// because the remaining name, which never answered for good, was taken as decided.
// (src/discovery/dns.ts, the constructor: `decided` from the initial addresses; src/upstream/registry.ts
// #endWarmupOnceDecided.)
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'

const OLD = 'old.carried.test'
const KEPT = 'kept.carried.test'
const config = (names: string[]) => validateConfig({
  pools: { p: { targets: names.map((dns) => ({ dns, port: 9, refreshMs: 60_000 })) } },
  routes: [{ path: '/', pool: 'p' }],
})

t.test('a carried name with no address and a failing resolver keeps the dropped name serving', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] }) // KEPT is unknown: one NXDOMAIN, not confirmed
  const options = { dnsServers: [dns.address] }
  const first = buildPools(config([OLD, KEPT]), options).pools.get('p')!
  await first.start()
  t.strictSame(first.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'])

  dns.mode = 'servfail'
  const rt = await reloadedPool(t, first, config([KEPT]), options)
  t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'], 'the pool is not emptied by an undecided name')
})
