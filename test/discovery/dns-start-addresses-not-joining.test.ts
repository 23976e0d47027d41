// At start-up a DNS name's first addresses are the pool's targets, as fixed ones are: they start healthy and need
// unhealthyThreshold failed checks to go out. Only an address that joins once checks run waits for a passing check
// (src/upstream/registry.ts #setTargets(): `const checked = this.health !== undefined && this.#started`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

t.test("a name's first addresses are not joiners: one failed check does not take them out", async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set('first.start.test', { a: ['127.0.0.2'] })
  const config = validateConfig({
    pools: { p: { targets: [{ dns: 'first.start.test', port: 9 }], healthCheck: { path: '/health', unhealthyThreshold: 3, intervalMs: 60_000 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  await rt.start()
  const [target] = rt.pool.targets
  t.equal(rt.health!.lastResult(target!)?.ok, false, 'the first check failed (nothing listens)')
  t.equal(rt.pool.state(target!), 'healthy', 'one failure of three: still in')
})
