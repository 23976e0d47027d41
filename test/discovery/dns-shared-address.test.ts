// Two discovered names answering the same address (an address moving between headless Services, or two Services
// selecting the same pods) are one target: listed once, one share of the balancing, and a retry that failed on it
// knows it was tried.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const A = 'a.shared.test'
const B = 'b.shared.test'
const config = (requestMs = 30_000) => validateConfig({
  pools: {
    p: {
      targets: [{ dns: A, port: 9, refreshMs: 60_000 }, { dns: B, port: 9, refreshMs: 60_000 }, { url: 'http://127.0.0.9:9', backup: true }],
      timeouts: { requestMs },
    },
  },
  routes: [{ path: '/', pool: 'p' }],
})
const ids = (rt: PoolRuntime): string[] => rt.pool.targets.map((x) => x.id).sort()

async function sharedDns (t: { teardown: (fn: () => Promise<void>) => void }): Promise<TestDnsServer> {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(A, { a: ['127.0.0.2', '127.0.0.3'] })
  dns.set(B, { a: ['127.0.0.3'] })
  return dns
}

t.test('an address two names answer is one target', async (t) => {
  const dns = await sharedDns(t)
  const rt = buildPools(config(), { dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  await rt.start()
  t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'])
  const [p2, p3] = rt.pool.available()
  t.equal(rt.pool.available().length, 2, 'two primaries available, once each')
  t.equal(rt.pool.pick({}, [p2!, p3!])?.id, '127.0.0.9:9', 'a request that failed on both primaries retries on the standby')
})

t.test('a pool rebuilt by a reload starts with each carried address once', async (t) => {
  const dns = await sharedDns(t)
  const options = { dnsServers: [dns.address] }
  const before = buildPools(config(30_000), options).pools
  const first = before.get('p')!
  t.teardown(() => first.close())
  await first.start()
  const { pools } = buildPools(config(20_000), options, before)
  const rt = pools.get('p')!
  t.teardown(() => rt.close())
  t.not(rt, first, 'rebuilt')
  t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'], 'before its first lookups')
  await rt.start()
  t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'], 'after them')
})
