// A discovery started from the addresses of the one it replaces (a pool rebuilt by a reload) has its set, and so has
// decided it, before its own first lookup: what `decided` promises ("the name's set is known") holds from the start,
// as `urls` does. (src/discovery/dns.ts, the constructor: `decided` from the initial addresses.)
import t from 'tap'
import { DnsDiscovery } from '../../src/discovery/dns.ts'

t.test('initial addresses: decided before any lookup; no initial addresses: not', async (t) => {
  const spec = { dns: 'payment.default.svc.cluster.local', port: 8080, refreshMs: 5000 }
  const carried = new DnsDiscovery(spec, { servers: ['127.0.0.1:9'], initial: { v4: ['10.0.0.1'], v6: [], emptyStreak: 0 } })
  t.teardown(() => carried.stop())
  t.same(carried.urls, ['http://10.0.0.1:8080'])
  t.equal(carried.decided, true)
  const fresh = new DnsDiscovery(spec, { servers: ['127.0.0.1:9'] })
  t.teardown(() => fresh.stop())
  t.equal(fresh.decided, false)
})
