// WebSocket upgrades judge a canary as requests do: a new version whose upgrades fail (here its upstream refuses
// connections: 502) is rolled back once minRequests of them have been seen; before, upgrades were not counted, so a
// version that broke every WebSocket stayed in. A declined upgrade is judged when its answer has ended: cut short by
// the upstream, it is a failure whatever its status.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
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

// An upgrade sent to the canary before an operator took it to 0 and raised it again went to the build that was taken
// off: its decline (a 500), ending after the raise, must not count against the new build nor roll it back. Pins that
// the upgrade path hands record() the epoch read at the decision, as the request path does.
t.test('canary-websocket-late-decline-old-build', async (t) => {
  t.test('a declined upgrade decided before the canary was raised from 0 is not the new build\'s', async (t) => {
    // the old canary build: holds each handshake until the test lets it go
    const held: Socket[] = []
    let arrived: () => void = () => {}
    const heldOne = new Promise<void>((resolve) => { arrived = resolve })
    const old = createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', () => { held.push(socket); arrived() })
    })
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve))
    const stable = await TestUpstream.start({ name: 'stable' })
    const gw = await startGateway({
      pools: { stable: { targets: [stable.url] }, canary: { targets: [`http://127.0.0.1:${(old.address() as { port: number }).port}`] } },
      routes: [{ name: 'chat', path: '/', pool: 'stable', canary: { pool: 'canary', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 1, windowMs: 60_000 } } }],
    }, { defaultMetrics: false })
    t.teardown(async () => {
      await gw.close()
      for (const s of held) s.destroy()
      await Promise.all([stable.close(), new Promise((resolve) => old.close(resolve))])
    })
    const plan = gw.gateway.proxy.state.plans!.get(gw.gateway.proxy.state.table.routes[0]!)!
    const canary = () => gw.gateway.status().routes.find((r) => r.name === 'chat')!.canary!

    const handshake = rawHandshake(Number(new URL(gw.url).port), wsHandshake('/ws', 'ws-late'))
    await heldOne
    plan.setCanaryWeight(0)
    plan.setCanaryWeight(100)
    held[0]!.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n')
    const { response, socket } = await handshake
    t.teardown(() => socket.destroy())
    t.equal(response.status, 500)
    await waitFor(() => gw.accessLogs().length === 1)
    t.same(canary().window.canary, { requests: 0, errors: 0 }, 'not counted against the new build')
    t.strictSame({ weight: canary().weight, source: canary().weightSource }, { weight: 100, source: 'operator' }, 'not rolled back')
  })
})
