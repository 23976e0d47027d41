// A DNS name that lookups leave with no address empties its pool: the log and the event feed say the cause (the
// name has no address) before its effect (the pool has no target), and when addresses come back, that the lookups
// work again before the pool's traffic is back on its targets. Before, the pool took the set first, so an operator
// read "no target available" with no reason above it (review r37b; the event feed already says a target's change
// before the failover it causes). A real DNS server on 127.0.0.1. (src/discovery/dns.ts #lookup: 'change' last.)
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const NAME = 'member.default.svc.cluster.local'

/** An upstream, a DNS server (`prepare` sets it up first) and a gateway whose pool looks NAME up every 30 ms. */
async function setup (t: Test, prepare: (dns: TestDnsServer) => void): Promise<{ dns: TestDnsServer; feed: () => string[]; tier: () => string }> {
  const up = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { up.closeAllConnections(); up.close() })
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  prepare(dns)
  const gw = await startGateway({
    pools: { p: { targets: [{ dns: NAME, port: (up.address() as AddressInfo).port, refreshMs: 30 }] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { dnsServers: [dns.address], defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  return {
    dns,
    // the pool's entries, a name's as 'dns'
    feed: () => gw.gateway.events.list().filter((e) => e.pool === 'p').map((e) => e.target === undefined && e.kind === 'target' ? 'dns' : e.kind),
    tier: () => gw.gateway.pools().get('p')!.pool.tier,
  }
}

t.test('no address, then addresses again: each cause is said before its effect', async (t) => {
  const { dns, feed, tier } = await setup(t, (dns) => dns.set(NAME, { a: ['127.0.0.1'] }))
  // the gateway starts before the first answer: the pool is on its target once that has come
  await waitFor(() => tier() === 'primary' && feed().length === 1)
  const start = feed().length
  dns.delete(NAME)
  await waitFor(() => feed().length >= start + 2)
  t.same(feed().slice(start, start + 2), ['dns', 'tier'], 'the name has no address, then the pool has no target')
  dns.set(NAME, { a: ['127.0.0.1'] })
  await waitFor(() => feed().length >= start + 4)
  t.same(feed().slice(start + 2, start + 4), ['dns', 'tier'], 'lookups work again, then traffic is back on the targets')
})

// lookups that failed (SERVFAIL) while the pool had no address: their return is said before the traffic it brings
t.test('lookups failing from the start, then answering: "work again" before the tier change', async (t) => {
  const { dns, feed } = await setup(t, (dns) => { dns.mode = 'servfail' })
  await waitFor(() => feed().length >= 1)
  const start = feed().length
  dns.set(NAME, { a: ['127.0.0.1'] })
  dns.mode = 'answer'
  await waitFor(() => feed().length >= start + 2)
  t.same(feed().slice(start, start + 2), ['dns', 'tier'], 'lookups work again, then traffic is on the targets')
})
