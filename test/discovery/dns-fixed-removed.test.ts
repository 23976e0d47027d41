// A fixed target and a DNS name give the same address (weights 5 and 1); a reload removes the fixed entry while DNS
// still answers the address, which has served all along. It is no newcomer: it keeps serving at once (it waited,
// unhealthy, for a passing probe: 503 no_available_target meanwhile), and an operator's disable of it stays.
import { createServer, type Server } from 'node:http'
import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'svc.fixed-removed.test'

async function setup (t: Test): Promise<{ gw: TestGateway; id: string; dropFixed: () => Promise<void> }> {
  // its probes answer slowly: a target waiting for one would still be waiting when the test looks
  const up: Server = createServer((req, res) => {
    if (req.url === '/health') setTimeout(() => res.end('ok'), 2000).unref()
    else res.end('hello')
  })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { up.closeAllConnections(); up.close() })
  const port = (up.address() as { port: number }).port
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.1'] })
  const config = (fixed: boolean) => ({
    pools: {
      p: {
        targets: [...(fixed ? [{ url: `http://127.0.0.1:${port}`, weight: 5 }] : []), { dns: NAME, port, weight: 1, refreshMs: 60_000 }],
        healthCheck: { intervalMs: 60_000, timeoutMs: 5000 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  let fixed = true
  const gw = await startGateway(config(true), { defaultMetrics: false, dnsServers: [dns.address], load: async () => validateConfig(config(fixed)) })
  t.teardown(() => gw.close())
  // the name has been looked up: its address is the fixed target's until the reload
  await waitFor(() => gw.gateway.pools().get('p')!.discoveredTargets().length === 1)
  return {
    gw,
    id: `127.0.0.1:${port}`,
    dropFixed: async () => {
      fixed = false
      t.equal((await gw.gateway.reload('admin')).result, 'success', 'reloaded')
    },
  }
}

const view = (gw: TestGateway) => gw.gateway.status().pools.p!.targets.map((x) => ({ id: x.id, weight: x.weight, state: x.state }))

t.test('the address serves on under its DNS settings', async (t) => {
  const { gw, id, dropFixed } = await setup(t)
  t.strictSame(view(gw), [{ id, weight: 5, state: 'healthy' }], 'one target, the fixed one')
  await dropFixed()
  t.strictSame(view(gw), [{ id, weight: 1, state: 'healthy' }], 'the DNS settings, still healthy')
  const res = await fetch(`${gw.url}/x`)
  t.equal(res.status, 200)
  await res.arrayBuffer()
})

t.test("an operator's disable stays", async (t) => {
  const { gw, id, dropFixed } = await setup(t)
  const runtime = gw.gateway.pools().get('p')!
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
  await dropFixed()
  t.strictSame(view(gw), [{ id, weight: 1, state: 'disabled' }])
})
