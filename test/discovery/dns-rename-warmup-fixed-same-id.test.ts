// A reload renames a discovered name and adds, as a fixed target, an address the old name answered: while the new
// name is looked up, that upstream is one target (one id in /status and metrics, one share in the balancer), not a
// fixed target plus the warming copy of the old name's address
// (src/upstream/registry.ts PoolRuntime constructor: `(options.warmupTargets ?? []).filter(fresh)`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

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
