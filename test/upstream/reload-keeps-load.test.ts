// A reload that changes a target's weight, or any setting of its pool, makes a new Target object for the same
// upstream. Its requests still in flight on the old copy are the upstream's load all the same: least-connections and
// p2c must weigh them (Envoy keeps a host's active requests across an EDS weight update, HAProxy a server's sessions
// across `set server weight`), /status counts them once, and when they end the count comes back to 0, not below.
// Before, the new copy started from 0 in flight: with A holding 10 requests and B none, the next 10 split 5/5.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import type { HasTeardown } from '../proxy/setup.ts'

interface HoldingUpstream { url: string; id: string; held: ServerResponse[]; hits: number }

/** An upstream that holds every request until the test ends it. */
async function holdingUpstream (t: HasTeardown): Promise<HoldingUpstream> {
  const up: HoldingUpstream = { url: '', id: '', held: [], hits: 0 }
  const server = createServer((_req, res) => { up.hits++; up.held.push(res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  up.id = `127.0.0.1:${(server.address() as AddressInfo).port}`
  up.url = `http://${up.id}`
  t.teardown(async () => {
    for (const res of up.held) res.end()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return up
}

const changes = [
  { name: 'a new weight for A', weightA: 1.01, requestMs: 30_000 },
  { name: 'a pool setting (the pool is rebuilt)', weightA: 1, requestMs: 29_999 },
]

for (const balancer of ['least-connections', 'p2c'] as const) {
  for (const change of changes) {
    t.test(`${balancer}, after ${change.name}: A's requests in flight still count`, async (t) => {
      const [a, b] = await Promise.all([holdingUpstream(t), holdingUpstream(t)])
      const config = (weightA: number, requestMs: number): GatewayConfig => ({
        pools: {
          p: {
            targets: [{ url: a.url, weight: weightA }, b.url],
            balancer,
            timeouts: { requestMs },
            outlier: { enabled: false },
            circuitBreaker: { enabled: false },
          },
        },
        routes: [{ path: '/', pool: 'p' }],
      })
      let next = config(1, 30_000)
      const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
      const responses: Promise<number>[] = []
      t.teardown(async () => {
        for (const res of [...a.held, ...b.held]) res.end()
        await Promise.allSettled(responses)
        await gw.close()
      })
      const send = (): void => { responses.push(fetch(`${gw.url}/x`).then((r) => r.status)) }
      const inFlight = (id: string): number => gw.gateway.status().pools.p!.targets.find((x) => x.id === id)!.inFlight
      const pool = () => gw.gateway.pools().get('p')!.pool
      const targetB = () => pool().targets.find((x) => x.id === b.id)!

      // 10 requests held on A (B out meanwhile)
      pool().setStatus(targetB(), { disabled: true })
      for (let i = 0; i < 10; i++) send()
      await waitFor(() => a.held.length === 10)
      pool().setStatus(targetB(), { disabled: false })

      next = config(change.weightA, change.requestMs)
      t.equal((await gw.gateway.reload()).result, 'success')
      t.equal(inFlight(a.id), 10, '/status counts A\'s requests once')
      const newA = pool().targets.find((x) => x.id === a.id)!
      t.equal(newA.inFlight, 10, 'the new copy of A carries them (what the balancer reads)')

      // 9 more, one at a time: B (fewer than 10 per weight) wins every pick
      for (let i = 0; i < 9; i++) {
        send()
        await waitFor(() => a.hits + b.hits === 11 + i)
      }
      t.equal(a.hits, 10, 'none of the new requests went to A')
      t.equal(b.hits, 9)

      // the old copy's requests end: counted down once each
      for (const res of a.held.splice(0)) res.end('a')
      await waitFor(() => inFlight(a.id) === 0)
      t.equal(newA.inFlight, 0, 'back to 0, not below')
      for (const res of b.held.splice(0)) res.end('b')
      t.strictSame(new Set(await Promise.all(responses)), new Set([200]))
      await waitFor(() => inFlight(b.id) === 0)
      t.equal(newA.inFlight, 0)
      t.equal(gw.gateway.status().pools.p!.targets.length, 2, 'each target listed once')
    })
  }
}
