// A target removed while a copy of it still carries a request, then added back (a reload: reweight, remove, re-add;
// or a DNS answer flapping), is the same upstream: its new copy takes over the busy copy's shared state, so
// connections.maxPerTarget still counts that request and the balancer reads the upstream's real load. Before, the
// returning URL was looked up only among the pool's current targets: it got a fresh state with connections of its
// own, and with maxPerTarget 1 the upstream saw two requests at once while the new copy read 0 in flight.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

/** An upstream that holds every request until told, counting how many it carries at once. */
async function holdingUpstream (host = '127.0.0.1', port = 0) {
  const held: ServerResponse[] = []
  const state = { active: 0, peak: 0 }
  const server = createServer((_req, res) => {
    state.peak = Math.max(state.peak, ++state.active)
    res.on('close', () => { state.active-- })
    held.push(res)
  })
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  const address = server.address() as AddressInfo
  const close = async (): Promise<void> => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return { held, state, port: address.port, url: `http://${host}:${address.port}`, close }
}

const poolSettings = (requestMs: number) => ({
  connections: { maxPerTarget: 1, maxQueuedPerTarget: 100 },
  timeouts: { requestMs },
  retry: { attempts: 1 },
  outlier: { enabled: false },
  circuitBreaker: { enabled: false },
})

for (const rebuild of [false, true]) {
  t.test(`reweight, remove, re-add${rebuild ? ' (the re-add rebuilds the pool)' : ''}: one connection, the load seen`, async (t) => {
    const a = await holdingUpstream()
    // b stays, disabled, so that A can leave (a pool has a target); its status carries across the reloads
    const b = await holdingUpstream()
    const config = (targets: GatewayConfig['pools'][string]['targets'], requestMs = 20_000): GatewayConfig => ({
      pools: { p: { targets: [...targets, b.url], ...poolSettings(requestMs) } },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next = config([a.url])
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    const responses: Promise<number>[] = []
    t.teardown(async () => {
      for (const res of a.held) res.end()
      await Promise.allSettled(responses)
      await gw.close()
      await a.close()
      await b.close()
    })
    const send = (): void => { responses.push(fetch(`${gw.url}/x`).then((r) => r.status)) }
    const pool = () => gw.gateway.pools().get('p')!.pool
    const target = () => pool().targets.find((x) => x.url === a.url)
    pool().setStatus(pool().targets.find((x) => x.url === b.url)!, { disabled: true })

    // one attempt completed before the removal: counted in A's series, which the removal drops
    send()
    await waitFor(() => a.held.length === 1)
    a.held.shift()!.end('ok')
    await responses[0]
    t.equal(target()!.requests, 1)
    send()
    await waitFor(() => a.held.length === 1)
    for (const targets of [[{ url: a.url, weight: 2 }], []]) {
      next = config(targets)
      t.equal((await gw.gateway.reload()).result, 'success', `reload to ${targets.length === 0 ? 'remove A' : 'reweight A'}`)
    }
    next = config([a.url], rebuild ? 19_999 : 20_000)
    t.equal((await gw.gateway.reload()).result, 'success', 'reload to add A back')
    t.equal(b.held.length, 0, 'b stayed out')
    t.equal(target()!.inFlight, 1, 'the returning copy reads the request its removed copy still carries')
    t.equal(target()!.requests, 0, 'but its counts start again, as its metric series did when it was removed')

    send()
    await waitFor(() => target()!.queued === 1)
    t.equal(a.state.active, 1, 'the second request waits for the one connection maxPerTarget allows')
    a.held.shift()!.end('ok')
    await waitFor(() => a.held.length === 1)
    a.held.shift()!.end('ok')
    t.strictSame(await Promise.all(responses), [200, 200, 200])
    t.equal(a.state.peak, 1, 'never two at the upstream at once')
  })
}

t.test('a DNS address that leaves the answer while busy and comes back: one connection, the load seen', async (t) => {
  const NAME = 'orders.readd.test'
  const busy = await holdingUpstream('127.0.0.3')
  const other = await holdingUpstream('127.0.0.2', busy.port)
  const dns = await TestDnsServer.start()
  dns.set(NAME, { a: ['127.0.0.3'] })
  const gw = await startGateway({
    pools: { orders: { targets: [{ dns: NAME, port: busy.port, refreshMs: 20 }], ...poolSettings(20_000) } },
    routes: [{ path: '/', pool: 'orders' }],
  }, { dnsServers: [dns.address], defaultMetrics: false })
  const responses: Promise<number>[] = []
  t.teardown(async () => {
    for (const res of [...busy.held, ...other.held]) res.end()
    await Promise.allSettled(responses)
    await gw.close()
    await dns.close()
    await busy.close()
    await other.close()
  })
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const pool = gw.gateway.pools().get('orders')!.pool
  const target = () => pool.targets.find((x) => x.url === busy.url)
  const send = (): void => { responses.push(fetch(`${gw.url}/x`).then((r) => r.status)) }

  send()
  await waitFor(() => busy.held.length === 1)
  dns.set(NAME, { a: ['127.0.0.2'] })
  await waitFor(() => target() === undefined)
  dns.set(NAME, { a: ['127.0.0.3'] })
  await waitFor(() => target() !== undefined)
  t.equal(target()!.inFlight, 1, 'the returning address reads the request its removed copy still carries')

  send()
  await waitFor(() => target()!.queued === 1)
  t.equal(busy.state.active, 1, 'the second request waits for the one connection maxPerTarget allows')
  busy.held.shift()!.end('ok')
  await waitFor(() => busy.held.length === 1)
  busy.held.shift()!.end('ok')
  t.strictSame(await Promise.all(responses), [200, 200])
  t.equal(busy.state.peak, 1, 'never two at the upstream at once')
})
