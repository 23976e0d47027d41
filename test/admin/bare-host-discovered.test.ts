// A DNS-discovered target on the scheme's default port is named in the admin API by its address, as /status lists
// it (`127.0.0.82:80`) or bare (`127.0.0.82`, README: "its bare host when that names only one"), never by the DNS
// name it was found through: that name stands for every address it returns, not for one pod (the Host such a
// target is sent, which is the name, is not its name in the admin API).
import { createServer } from 'node:http'
import t from 'tap'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { adminRequest } from './admin-request.ts'

const NAME = 'payment.default.svc.cluster.local'
// a loopback address of its own: port 80 there is free whatever else the machine runs
const HOST = '127.0.0.82'

t.test('a discovered target on port 80 is named by its address, bare or not, and not by the DNS name', async (t) => {
  const server = createServer((req, res) => { req.resume(); res.end('ok') })
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(80, HOST, () => resolve(true))
  })
  if (!bound) return t.plan(0, 'port 80 cannot be bound here (not root)')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: [HOST] })
  const gw = await startGateway({
    pools: { p: { targets: [{ dns: NAME, port: 80, refreshMs: 1000 }] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { dnsServers: [dns.address], defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)
  for (const name of [`${HOST}:80`, HOST]) {
    const disabled = await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(name)}/disable`)
    t.equal(disabled.status, 200, `named as ${name}`)
    t.equal((disabled.body.target as { id?: string } | undefined)?.id, `${HOST}:80`)
    t.equal((await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(`${HOST}:80`)}/enable`)).status, 200)
  }
  const byName = await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(NAME)}/disable`)
  t.equal(byName.status, 404, 'the DNS name names no one target')
  t.equal(byName.body.error, 'unknown_target')
})
