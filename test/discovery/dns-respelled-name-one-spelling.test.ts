// A discovered name is sent as lookups compare it, lower case and without a root dot, whatever its spelling in the
// config. A reload that only respells it ('svc.test' to 'SVC.Test.') keeps the pool (config/hash.ts); the addresses
// found before it sent Host 'svc.test' and one found after it 'SVC.Test': one pool, two spellings, splitting any
// cache or log the upstream keys on the raw Host. The discovery's events name it the same way.
import { createServer, type Server } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

async function listen (server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  t.teardown(() => server.close())
  return (server.address() as { port: number }).port
}

t.test('before and after a respelling reload, every address sends the name in one spelling', async (t) => {
  const hosts = new Set<string>()
  const answer = (req: { headers: { host?: string } }, res: { end (s: string): void }): void => { hosts.add(String(req.headers.host)); res.end('ok') }
  const port = await listen(createServer(answer), '127.0.0.1', 0)
  await listen(createServer(answer), '127.0.0.2', port)
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set('svc.test', { a: ['127.0.0.1'] })
  const config = (name: string): GatewayConfig => ({ pools: { p: { targets: [{ dns: name, port, refreshMs: 100 }], preserveHost: false, retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config('Svc.Test')
  const gw = await startGateway(next, { defaultMetrics: false, env: {}, dnsServers: [dns.address], load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  await (await fetch(`${gw.url}/x`)).arrayBuffer()
  t.strictSame([...hosts], [`svc.test:${port}`], 'lower case from the start')

  const runtime = gw.gateway.pools().get('p')
  next = config('SVC.Test.')
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.equal(gw.gateway.pools().get('p'), runtime, 'the pool is kept')
  dns.set('svc.test', { a: ['127.0.0.1', '127.0.0.2'] })
  await waitFor(() => gw.gateway.status().pools.p!.targets.length === 2)
  hosts.clear()
  for (let i = 0; i < 6; i++) await (await fetch(`${gw.url}/x`)).arrayBuffer()
  t.strictSame([...hosts], [`svc.test:${port}`], 'the address found after the reload too')

  dns.mode = 'servfail'
  await waitFor(() => gw.gateway.events.list().some((e) => /DNS lookups/.test(e.message)), 5000)
  const failing = gw.gateway.events.list().find((e) => /DNS lookups/.test(e.message))!
  t.match(failing.message, /svc\.test/, 'the event names it as lookups do')
  t.notMatch(failing.message, /Svc\.Test|SVC/)
})
