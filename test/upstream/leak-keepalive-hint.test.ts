// connections.keepAliveMs is how long an idle upstream connection is kept: the gateway's own idle timeout decides, as
// nginx's, Envoy's and HAProxy's does. An upstream's `Keep-Alive: timeout=N` hint may shorten it, never lengthen it.
// Before, undici took a longer hint up to its own 10 min cap, for traffic and health-probe connections alike: an
// upstream advertising timeout=60 (Node's http server, Apache and Tomcat send their idle timeout this way) kept every
// idle connection the gateway had opened to it ~58 s instead of keepAliveMs. An upstream that sends no hint (a
// server without Node's default header: nginx, Envoy, most Go and Python servers) gets keepAliveMs too, on traffic and
// probe connections alike, not undici's own 4 s default.
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'

/**
 * An upstream that advertises `hint` on every answer (none: no Keep-Alive header) and never closes an idle connection
 * itself (Node's own idle timeout off, which also leaves out Node's own hint), so every connection that closes was
 * closed by the gateway.
 */
async function hintingUpstream (t: Test, hint?: string) {
  const server = createServer((req, res) => {
    req.resume()
    if (hint !== undefined) res.setHeader('keep-alive', hint)
    res.end('ok')
  })
  server.keepAliveTimeout = 0
  const open = new Set<Socket>()
  let opened = 0
  server.on('connection', (socket: Socket) => {
    opened++
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, open, opened: () => opened }
}

async function gatewayTo (t: Test, url: string, keepAliveMs: number) {
  const gw = await startGateway({
    pools: {
      p: {
        targets: [url],
        connections: { keepAliveMs },
        // one round of probes at start, the next long after the test: its connection is idle from then on
        healthCheck: { path: '/health', intervalMs: 600_000 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return gw
}

t.test('a hint longer than keepAliveMs: idle traffic and probe connections still close after keepAliveMs', async (t) => {
  const up = await hintingUpstream(t, 'timeout=60')
  const gw = await gatewayTo(t, up.url, 300)
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
  await waitFor(() => up.opened() >= 2)
  t.pass('a traffic connection and a probe connection were opened')
  // keepAliveMs is 300 ms; the hint would keep them 58 s
  await waitFor(() => up.open.size === 0, 5000).catch(() => {})
  t.equal(up.open.size, 0, 'the gateway closed every idle connection within keepAliveMs (plus slack)')
})

t.test('a hint shorter than keepAliveMs shortens it', async (t) => {
  const up = await hintingUpstream(t, 'timeout=3')
  const gw = await gatewayTo(t, up.url, 60_000)
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
  // undici keeps a hinted connection the hint less 2 s (its margin against the upstream's own close): 1 s here
  await waitFor(() => up.open.size === 0, 5000).catch(() => {})
  t.equal(up.open.size, 0, 'closed by the hint, long before keepAliveMs')
})

t.test('no hint: idle traffic and probe connections close after keepAliveMs, not undici\'s 4 s default', async (t) => {
  const up = await hintingUpstream(t)
  const gw = await gatewayTo(t, up.url, 300)
  t.equal((await fetch(`${gw.url}/x`)).status, 200)
  await waitFor(() => up.opened() >= 2)
  t.pass('a traffic connection and a probe connection were opened')
  // keepAliveMs 300 on undici's coarse timers: closed within about 1.5 s; undici's default would keep them 4 s
  await waitFor(() => up.open.size === 0, 3000).catch(() => {})
  t.equal(up.open.size, 0, 'the gateway closed every idle connection within keepAliveMs (plus slack)')
})
