// A reload that renames a pool's discovered name keeps the old name's addresses serving until the new name answers.
// The new name's first lookup failing (SERVFAIL) used to count as its answer: the old addresses were dropped and the
// pool was left with no target, where a failed lookup keeps a name's last known set everywhere else. An empty
// answer (NXDOMAIN) decides only once confirmed, as it would to empty any set.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const OLD = 'old.rename.test'
const NEW = 'new.rename.test'
const config = (name: string, refreshMs: number) => validateConfig({
  pools: { p: { targets: [{ dns: name, port: 9, refreshMs }] } },
  routes: [{ path: '/', pool: 'p' }],
})
const ids = (rt: PoolRuntime): string[] => rt.pool.targets.map((target) => target.id)

/** A pool discovering OLD, reloaded to discover NEW (`beforeReload` runs in between); started, its first lookups done. */
async function renamed (t: Tap, dns: TestDnsServer, refreshMs: number, beforeReload = (): void => {}): Promise<PoolRuntime> {
  const options = { dnsServers: [dns.address] }
  const first = buildPools(config(OLD, 60_000), options).pools.get('p')!
  await first.start()
  t.strictSame(ids(first), ['127.0.0.2:9', '127.0.0.3:9'], 'the old name serves')
  beforeReload()
  return reloadedPool(t, first, config(NEW, refreshMs), options)
}

t.test('a failing resolver keeps the old addresses until the new name answers', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
  dns.set(NEW, { a: ['127.0.0.4'] })
  const rt = await renamed(t, dns, 30, () => { dns.mode = 'servfail' })
  t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9'], 'the first lookup failed: the old addresses still serve')
  t.equal(rt.pool.tier, 'primary')
  dns.mode = 'answer'
  const answered = Date.now()
  while (ids(rt).join() !== '127.0.0.4:9' && Date.now() - answered < 3000) await new Promise((resolve) => setTimeout(resolve, 10))
  t.strictSame(ids(rt), ['127.0.0.4:9'], 'once the new name answers, its addresses replace the old ones')
})

t.test('an empty answer for the new name replaces the old addresses once confirmed', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
  const rt = await renamed(t, dns, 60_000)
  t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9'], 'one NXDOMAIN does not empty a serving pool')
})

t.test('an empty answer is confirmed by the next lookup', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
  const rt = await renamed(t, dns, 30)
  const started = Date.now()
  while (ids(rt).length > 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 10))
  t.strictSame(ids(rt), [], 'two lookups in a row found no address: the pool is empty, as a zero-pod Service leaves it')
})
