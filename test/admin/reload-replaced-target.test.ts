// A reload that changes a target's weight or backup flag replaces its Target object while a request to the old
// copy is still in flight: /status and /metrics must both count that request, and /status keeps the attempts the
// old copy made (both copies count in one Target.counts).
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const changes: { name: string; target: (url: string) => { url: string; weight?: number; backup?: boolean } }[] = [
  { name: 'a new weight', target: (url) => ({ url, weight: 2 }) },
  // a second primary keeps the pool valid while this one becomes a backup
  { name: 'a new backup flag', target: (url) => ({ url, backup: true }) },
]

for (const c of changes) {
  t.test(`${c.name} while a request is in flight: /status and the in-flight gauge agree, attempts are kept`, async (t) => {
    // u1 holds requests while asked to, so the test ends them itself (no request left for close() to wait on)
    let hold = false
    const held: ServerResponse[] = []
    const server = createServer((_req, res) => { if (hold) held.push(res); else res.end('ok') })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const u1 = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
    const u2 = await TestUpstream.start({ name: 'u2' })
    const config = (first: { url: string; weight?: number; backup?: boolean }): GatewayConfig => ({
      pools: { p: { targets: [first, { url: u2.url, weight: 0.001 }], timeouts: { requestMs: 30_000 } } },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next: unknown = config({ url: u1.url })
    const gw = await startGateway(config({ url: u1.url }), { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(async () => {
      for (const res of held) res.end()
      await gw.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await u2.close()
    })
    const id = new URL(u1.url).host
    const entry = () => gw.gateway.status().pools.p!.targets.find((x) => x.id === id)!
    const gauge = async (): Promise<number | undefined> =>
      seriesOf(await gw.gateway.metrics!.render())[key('switchyard_target_in_flight', { pool: 'p', target: id })]

    // u2's tiny weight: every request goes to u1 (round-robin)
    for (let i = 0; i < 5; i++) t.equal((await fetch(`${gw.url}/x`)).status, 200)
    t.equal(entry().requests, 5)
    hold = true
    const pending = fetch(`${gw.url}/slow`).then((r) => r.text())
    // counted in flight once dispatched; held once the upstream has the request (the test ends it below)
    await waitFor(() => entry().inFlight === 1 && held.length === 1)
    t.equal(await gauge(), 1, 'gauge before the reload')

    next = config(c.target(u1.url))
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    const after = entry()
    const want = c.target(u1.url)
    t.same([after.weight, after.backup], [want.weight ?? 1, want.backup ?? false], 'the new copy is listed')
    t.equal(after.inFlight, 1, '/status counts the old copy\'s request')
    t.equal(await gauge(), 1, 'so does switchyard_target_in_flight')
    t.equal(after.requests, 5, 'the old copy\'s attempts still count')
    t.equal(after.failures, 0)
    held[0]!.end('late')
    t.equal(await pending, 'late')
    await waitFor(() => entry().inFlight === 0)
    t.equal(await gauge(), 0)
    t.equal(entry().requests, 6, 'the held request counts once it ends, the old copy gone')
  })
}
