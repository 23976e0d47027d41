// A mirror's copies in flight outlive a reload: the route's count (maxConcurrent, /status inFlight) carries over to
// the plans a reload builds, as the canary's window does, and copies begun before it count until they end.
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('copies begun before a reload count against maxConcurrent and in /status until they end', async (t) => {
  const v1 = await upstream(t, 'v1')
  const shadow = await upstream(t, 'shadow')
  shadow.mode = 'hang'
  const open = new Set<Socket>()
  shadow.server.on('request', (req) => {
    open.add(req.socket)
    req.socket.once('close', () => open.delete(req.socket))
  })
  const config = (requestMs: number): GatewayConfig => ({
    log: { level: 'silent' },
    pools: { main: { targets: [v1.url], timeouts: { requestMs } }, shadow: { targets: [shadow.url], timeouts: { requestMs: 20_000 } } },
    routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow', maxConcurrent: 2 } }],
  })
  let next = config(30_000)
  const gw = await gateway(t, next, { defaultMetrics: false, load: async () => validateConfig(next) })
  const inFlight = (): number => gw.gateway.status().routes[0]!.mirror!.inFlight
  const burst = async (n: number): Promise<void> => {
    for (const r of await Promise.all(Array.from({ length: n }, (_, i) => httpRequest(`${gw.url}/x${i}`)))) t.equal(r.status, 200)
  }

  await burst(4)
  await waitFor(() => open.size === 2)
  t.equal(inFlight(), 2)
  for (let i = 1; i <= 2; i++) {
    next = config(30_000 + i) // a change elsewhere: the mirror is as it was
    t.equal((await gw.gateway.reload()).result, 'success')
    await burst(4)
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(open.size, 2, `after reload ${i}: still at most maxConcurrent copies at the mirror`)
    t.equal(inFlight(), 2, `after reload ${i}: /status counts the copies begun before it`)
  }

  // the copies begun before the reloads end: their slots come back to the plan in force
  for (const socket of open) socket.destroy()
  await waitFor(() => inFlight() === 0)
  await burst(1)
  await waitFor(() => open.size === 1)
  t.equal(inFlight(), 1, 'one new copy, counted once')
  for (const socket of open) socket.destroy()
  await waitFor(() => inFlight() === 0)
})
