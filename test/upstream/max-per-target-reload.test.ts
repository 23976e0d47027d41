// connections.maxPerTarget is the most connections open to one upstream (README), across reloads too. A reload
// that changes a target's weight, or any setting of its pool, makes a new Target object; the copies share one set of
// connections, so the requests the old copy still carries count against the limit. Before, each copy had a
// connection pool of its own: maxPerTarget 2, and after a reweight 4 requests reached the upstream at once.
// A new limit applies to every connection open: busy ones made under the old settings count until they close.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const changes = [
  { name: 'a new weight', weight: 2, requestMs: 20_000, maxPerTarget: 2 },
  { name: 'a pool setting (the pool is rebuilt)', weight: 1, requestMs: 19_999, maxPerTarget: 2 },
  { name: 'a higher maxPerTarget', weight: 1, requestMs: 20_000, maxPerTarget: 3 },
]

for (const change of changes) {
  t.test(`maxPerTarget 2, then ${change.name}: never more than ${change.maxPerTarget} at the upstream`, async (t) => {
    const held: ServerResponse[] = []
    let active = 0
    let peak = 0
    const server = createServer((_req, res) => {
      peak = Math.max(peak, ++active)
      res.on('close', () => { active-- })
      held.push(res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const id = `127.0.0.1:${(server.address() as AddressInfo).port}`
    const config = (weight: number, requestMs: number, maxPerTarget: number): GatewayConfig => ({
      pools: {
        p: {
          targets: [{ url: `http://${id}`, weight }],
          connections: { maxPerTarget, maxQueuedPerTarget: 100 },
          timeouts: { requestMs },
          retry: { attempts: 1 },
          outlier: { enabled: false },
          circuitBreaker: { enabled: false },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next = config(1, 20_000, 2)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    const responses: Promise<number>[] = []
    t.teardown(async () => {
      for (const res of held) res.end()
      await Promise.allSettled(responses)
      await gw.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })
    const send = (n: number): void => { for (let i = 0; i < n; i++) responses.push(fetch(`${gw.url}/x`).then((r) => r.status)) }
    const target = () => gw.gateway.pools().get('p')!.pool.targets[0]!

    send(3)
    await waitFor(() => held.length === 2 && target().queued === 1)
    t.equal(active, 2, 'two at the upstream, the third waits')

    next = config(change.weight, change.requestMs, change.maxPerTarget)
    t.equal((await gw.gateway.reload()).result, 'success')
    send(2)
    // five requests: as many at the upstream as the new limit allows, counting the two the old copy holds
    await waitFor(() => target().queued === 5 - change.maxPerTarget)
    t.equal(active, change.maxPerTarget, `the old copy's requests count: ${5 - change.maxPerTarget} wait`)

    // as requests end, the waiting ones go on, never past the limit
    let left = 5
    while (left > 0) {
      await waitFor(() => held.length === Math.min(left, change.maxPerTarget))
      left -= held.length
      for (const res of held.splice(0)) res.end('ok')
    }
    t.strictSame(await Promise.all(responses), [200, 200, 200, 200, 200], 'every request answered')
    t.equal(peak, change.maxPerTarget, `at most ${change.maxPerTarget} at once`)
  })
}
