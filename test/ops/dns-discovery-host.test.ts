// preserveHost: false sends "the target's" Host. For an address found by DNS discovery that is the name it was
// discovered by, with the port (as its TLS name is, and as nginx's proxy_pass to a name sends): an upstream that
// serves by name must not see a pod address. Probes carry the same Host.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const NAME = 'payment.default.svc.cluster.local'

t.test('a discovered target gets its DNS name as Host when preserveHost is false', async (t) => {
  const hosts: Array<[string, string | undefined]> = []
  const server = createServer((req, res) => {
    hosts.push([req.url ?? '', req.headers.host])
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const port = (server.address() as AddressInfo).port
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2'] })
  const gw = await startGateway({
    pools: {
      payment: {
        targets: [{ dns: NAME, port, refreshMs: 1000 }],
        preserveHost: false,
        healthCheck: { path: '/health', intervalMs: 1000, timeoutMs: 500 },
      },
    },
    routes: [{ path: '/', pool: 'payment' }],
  }, { dnsServers: [dns.address], defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready' && hosts.some(([path]) => path === '/health'))
  const res = await fetch(`${gw.url}/x`, { headers: { host: 'shop.example' } })
  t.equal(res.status, 200)
  t.same(hosts.find(([path]) => path === '/x'), ['/x', `${NAME}:${port}`], 'the request: the DNS name and port')
  t.same(hosts.find(([path]) => path === '/health'), ['/health', `${NAME}:${port}`], 'the probe: the same')
})
