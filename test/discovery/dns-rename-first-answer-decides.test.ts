// A reload that renames a pool's discovered name gives up the old name's addresses as soon as the new name's first
// lookup finds addresses: an answer with addresses decides a name's set at once (only an empty answer needs
// confirming). The old addresses, which the operator renamed away from, must not keep taking traffic for another
// refresh period. (src/discovery/dns.ts, #lookup: `if (urls.length > 0) this.#decided = true`.)
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'

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
