// A reload right after another retires a pool whose first DNS lookups are still running: when they end, nothing may
// start on the retired pool; its health checks never probe the upstreams it no longer serves
// (src/upstream/registry.ts start(): `if (this.#retired) return Promise.resolve()`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'retired.start.test'

t.test('a pool retired during its first lookups starts no health checks', async (t) => {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2'] })
  const config = validateConfig({
    pools: { p: { targets: ['http://127.0.0.1:9', { dns: NAME, port: 9 }], healthCheck: { path: '/health' } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
  t.teardown(() => rt.close())
  rt.budget.requestStarted() // a request admitted before the reload keeps the targets open
  const starting = rt.start()
  rt.retire()
  await starting
  t.ok(rt.pool.targets.length >= 1, 'the targets stay for the request in flight')
  t.strictSame(rt.pool.targets.map((x) => rt.health!.lastResult(x)), rt.pool.targets.map(() => undefined), 'no target was probed')
  rt.budget.requestFinished()
})
