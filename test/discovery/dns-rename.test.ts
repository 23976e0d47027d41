// A reload that renames a discovered DNS name: each subtest is one behaviour, named as its file was.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'

// A reload that renames a pool's discovered name gives up the old name's addresses as soon as the new name's first
// lookup finds addresses: an answer with addresses decides a name's set at once (only an empty answer needs
// confirming). The old addresses, which the operator renamed away from, must not keep taking traffic for another
// refresh period. (src/discovery/dns.ts, #lookup: `if (urls.length > 0) this.#decided = true`.)
t.test('dns-rename-first-answer-decides', async (t) => {
  const OLD = 'old.decides.test'
  const NEW = 'new.decides.test'
  const config = (name: string) => validateConfig({
    pools: { p: { targets: [{ dns: name, port: 9, refreshMs: 60_000 }] } },
    routes: [{ path: '/', pool: 'p' }],
  })

  t.test("the new name's first answer replaces the old addresses when the pool starts", async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(OLD, { a: ['127.0.0.2'] })
    dns.set(NEW, { a: ['127.0.0.4'] })
    const options = { dnsServers: [dns.address] }
    const first = buildPools(config(OLD), options).pools.get('p')!
    await first.start()
    const rt = await reloadedPool(t, first, config(NEW), options)
    t.strictSame(rt.pool.targets.map((x) => x.id), ['127.0.0.4:9'], 'only the new name serves, one lookup in')
  })
})

// A reload that replaces a pool's discovered name by two new names keeps the old name's addresses serving until
// every new name has answered for good: one name answering while the other's first answer is still unconfirmed
// (an NXDOMAIN counts only once confirmed) must not drop the old addresses, or the pool shrinks to a fraction of
// its capacity (Envoy warms a cluster before it replaces the old one)
// (src/upstream/registry.ts #endWarmupOnceDecided(): `!this.#discoveries.every((d) => d.decided)`).
t.test('dns-rename-warmup-every-name', async (t) => {
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
})

// A reload renames a discovered name and adds, as a fixed target, an address the old name answered: while the new
// name is looked up, that upstream is one target (one id in /status and metrics, one share in the balancer), not a
// fixed target plus the warming copy of the old name's address
// (src/upstream/registry.ts PoolRuntime constructor: `(options.warmupTargets ?? []).filter(fresh)`).
t.test('dns-rename-warmup-fixed-same-id', async (t) => {
  t.test('a warming address that a fixed target names is one target', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set('old.fixed.test', { a: ['127.0.0.2', '127.0.0.3'] })
    const options = { dnsServers: [dns.address] }
    const first = buildPools(validateConfig({ pools: { p: { targets: [{ dns: 'old.fixed.test', port: 9 }] } }, routes: [{ path: '/', pool: 'p' }] }), options).pools.get('p')!
    await first.start()
    const next = validateConfig({ pools: { p: { targets: ['http://127.0.0.2:9', { dns: 'new.fixed.test', port: 9 }] } }, routes: [{ path: '/', pool: 'p' }] })
    const { pools, retired } = buildPools(next, options, new Map([['p', first]]))
    const rt = pools.get('p')!
    t.teardown(async () => {
      await rt.close()
      for (const r of retired) await r.close()
    })
    t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'], 'each id once')
    t.equal(rt.pool.targets.length, 2, 'two targets')
  })
})

// A reload that renames a pool's discovered name keeps the old name's addresses serving until the new name answers.
// The new name's first lookup failing (SERVFAIL) used to count as its answer: the old addresses were dropped and the
// pool was left with no target, where a failed lookup keeps a name's last known set everywhere else. An empty
// answer (NXDOMAIN) decides only once confirmed, as it would to empty any set.
t.test('dns-rename-warmup', async (t) => {
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
})
