// A discovered address that is also a fixed target with another weight (or backup flag) is one target, the one
// written first: before, the two settings made two targets with one id (listed twice, two shares of the balancing,
// one metrics series for both).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'svc.same-id.test'
const config = (requestMs = 30_000) => validateConfig({
  pools: {
    p: {
      targets: [{ url: 'http://127.0.0.9:9', weight: 1 }, { dns: NAME, port: 9, weight: 3, refreshMs: 60_000 }],
      timeouts: { requestMs },
    },
  },
  routes: [{ path: '/', pool: 'p' }],
})
const listed = (rt: PoolRuntime): string[] => rt.pool.targets.map((x) => `${x.id} weight ${x.weight}`).sort()
const WANT = ['127.0.0.2:9 weight 3', '127.0.0.9:9 weight 1']

t.test('a fixed target and a discovered address with one id are one target', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2', '127.0.0.9'] })
  const options = { dnsServers: [dns.address] }
  const before = buildPools(config(30_000), options).pools
  const first = before.get('p')!
  t.teardown(() => first.close())
  await first.start()
  t.strictSame(listed(first), WANT, 'after the lookup')
  // a reload's pool starts with the addresses the one it replaces knew
  const rt = buildPools(config(20_000), options, before).pools.get('p')!
  t.teardown(() => rt.close())
  t.strictSame(listed(rt), WANT, 'a rebuilt pool, before its lookups')
  await rt.start()
  t.strictSame(listed(rt), WANT, 'and after them')
})
