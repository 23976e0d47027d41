// An operator drains a target while the copy of it in the pool a reload replaced (its settings changed, so the pool
// was rebuilt) still carries the upstream's last request: when that request ends, the running pool tells 'drained'
// for its target, once. The shared state tells the newest copy's pool when the upstream's load changes, whichever
// copy ran the request. Before, only the replaced pool emitted it, and the gateway no longer listens to that pool:
// the event feed never said "target drained". A reweight (the pool kept, the target copied) is told once as well.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

async function holdingUpstream () {
  const held: ServerResponse[] = []
  const server = createServer((_req, res) => { held.push(res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return { held, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close }
}

for (const change of [{ name: 'a pool setting (the pool is rebuilt)', weight: 1, requestMs: 19_999 }, { name: 'a new weight', weight: 2, requestMs: 20_000 }]) {
  t.test(`drained once the old copy's last request ends, after ${change.name}`, async (t) => {
    const a = await holdingUpstream()
    const b = await holdingUpstream()
    const config = (weight: number, requestMs: number): GatewayConfig => ({
      pools: { p: { targets: [{ url: a.url, weight }, b.url], timeouts: { requestMs }, retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next = config(1, 20_000)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    let response: Promise<number> | undefined
    t.teardown(async () => {
      for (const res of a.held) res.end()
      await response
      await gw.close()
      await a.close()
      await b.close()
    })
    const pool = () => gw.gateway.pools().get('p')!.pool
    const byUrl = (url: string) => pool().targets.find((x) => x.url === url)!
    pool().setStatus(byUrl(b.url), { disabled: true })
    response = fetch(`${gw.url}/x`).then((r) => r.status)
    await waitFor(() => a.held.length === 1)

    const before = pool()
    next = config(change.weight, change.requestMs)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(pool() !== before, change.requestMs !== 20_000, 'the pool is rebuilt only for a pool setting')
    const drained: string[] = []
    pool().on('drained', (target) => drained.push(target.url))
    pool().setStatus(byUrl(a.url), { draining: true })
    t.equal(pool().state(byUrl(a.url)), 'draining', 'the old copy still carries a request')

    a.held.shift()!.end('ok')
    t.equal(await response, 200)
    await waitFor(() => drained.length > 0)
    t.equal(pool().state(byUrl(a.url)), 'drained')
    t.strictSame(drained, [a.url], 'the running pool told it, once')
  })
}
