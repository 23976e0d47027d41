// WebSocket upgrades judge a canary as requests do: a new version whose upgrades fail (here its upstream refuses
// connections: 502) is rolled back once minRequests of them have been seen; before, upgrades were not counted, so a
// version that broke every WebSocket stayed in. A declined upgrade is judged when its answer has ended: cut short by
// the upstream, it is a failure whatever its status.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { rawHandshake } from '../proxy/raw.ts'
import { wsHandshake } from '../proxy/ws-tunnel.ts'

t.test('failed upgrades to the canary roll it back', async (t) => {
  const [stable, canary] = await Promise.all([TestUpstream.start({ name: 'stable' }), TestUpstream.start({ name: 'canary' })])
  await canary.refuse()
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, canary: { targets: [canary.url], outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ name: 'chat', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 5, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await stable.close(); await canary.close() })
  const port = Number(new URL(gw.url).port)
  for (let i = 0; i < 5; i++) {
    const { response, socket } = await rawHandshake(port, wsHandshake('/ws', `ws-canary-${i}`))
    socket.destroy()
    t.equal(response.status, 502, `upgrade ${i} to the refusing canary`)
  }
  const route = gw.gateway.status().routes.find((r) => r.name === 'chat')!
  t.equal(route.canary!.weight, 0, 'rolled back')
  t.equal(route.canary!.weightSource, 'rollback')
  const { response, socket } = await rawHandshake(port, wsHandshake('/ws', 'ws-after'))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101, 'the next upgrade goes to the stable version')
})

t.test('declined upgrades the canary cuts short roll it back, whatever their status', async (t) => {
  // the canary declines every upgrade with a 403 promising 100 bytes, sends 10, then resets
  const sockets = new Set<Socket>()
  const decliner = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => {
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789')
      setTimeout(() => socket.resetAndDestroy(), 20)
    })
  })
  await new Promise<void>((resolve) => decliner.listen(0, '127.0.0.1', resolve))
  const stable = await TestUpstream.start({ name: 'stable' })
  const gw = await startGateway({
    pools: {
      stable: { targets: [stable.url] },
      canary: { targets: [`http://127.0.0.1:${(decliner.address() as { port: number }).port}`], outlier: { enabled: false }, circuitBreaker: { enabled: false }, retry: { attempts: 1 } },
    },
    routes: [{ name: 'chat', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 5, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await stable.close(); for (const s of sockets) s.destroy(); decliner.close() })
  const port = Number(new URL(gw.url).port)
  for (let i = 0; i < 5; i++) {
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(wsHandshake('/ws', `ws-declined-${i}`))
    await c.closed
    t.match(c.received(), /^HTTP\/1\.1 403 /, `upgrade ${i}: the canary's 403, cut short`)
  }
  const route = gw.gateway.status().routes.find((r) => r.name === 'chat')!
  t.equal(route.canary!.weight, 0, 'rolled back')
})
