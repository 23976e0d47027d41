// WebSocket upgrades an upstream declines: each subtest is one behaviour, named as its file was.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import type { TrafficSummary } from '../../src/admin/history.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from './setup.ts'
import { sendHandshake } from './queued-handshake.ts'

// A target declining an upgrade with a 500 and no Date: the client gets the answer with a Date (RFC 9110 §6.6.1: Node
// gives one to every answer it forwards as a ServerResponse, this one is written raw), and the dashboard counts the
// 500 as an error, as it does for requests (not a failure of the target's: 500 is not in failureStatuses).
t.test('websocket-declined-5xx', async (t) => {
  const DATE = /\r\ndate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/i

  t.test('a declined upgrade: Date added, 5xx counted as an error', async (t) => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('data', () => socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom'))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
    const port = (server.address() as { port: number }).port
    const gw = await gateway(t, {
      pools: { p: { targets: [`http://127.0.0.1:${port}`], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false, env: {} })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const c = await sendHandshake(t, gw.url)
    await c.closed
    t.match(c.received(), /^HTTP\/1\.1 500 /, 'the target\'s answer')
    t.match(c.received(), DATE, 'with a Date')
    t.match(c.received(), /\r\n\r\nboom$/, 'and its body')
    let summary: TrafficSummary | undefined
    // the history is sampled once a second
    await waitFor(async () => {
      summary = await (await fetch(`${admin}/history`)).json() as TrafficSummary
      return (summary.targets.p?.[`127.0.0.1:${port}`]?.errorRate ?? 0) > 0
    }, 3000).catch(() => {})
    t.equal(summary!.targets.p![`127.0.0.1:${port}`]!.errorRate, 1, 'an error on the dashboard')
  })
})

// A declined WebSocket upgrade whose answer the upstream cuts short (a reset in the middle of its 403 body) is the
// target's failure whatever its status, as a request's answer cut short is: counted in the target's failures, heard by
// outlier detection and by the pool's breaker, and the client's connection is cut. Without it a target that resets
// mid-answer would look healthy to every one of them.
t.test('websocket-declined-cut-failure', async (t) => {
  t.test('the upstream resets in the middle of its 403: the target\'s failure, ejected, the breaker open', async (t) => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('data', () => { socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789') })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    const gw = await gateway(t, {
      pools: {
        p: {
          targets: [url],
          retry: { attempts: 1 },
          outlier: { consecutiveFailures: 1, maxEjectionPercent: 100 },
          circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const target = gw.gateway.pools().get('p')!.pool.targets[0]!
    const client = await sendHandshake(t, gw.url)
    await waitFor(() => client.received().includes('0123456789'))
    for (const s of sockets) s.resetAndDestroy()
    await client.closed
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 403, upstreamDeclinedUpgrade: true, error: 'upstream_unreachable' })
    await waitFor(() => target.inFlight === 0)
    t.equal(target.failures, 1, 'counted as the target\'s failure')
    const pool = gw.gateway.status().pools.p!
    t.equal(pool.targets[0]!.state, 'ejected', 'outlier detection heard it')
    t.equal(pool.circuit, 'open', 'the breaker counted it')
  })
})

// A declined WebSocket upgrade (the target answers 403 instead of 101) whose answer ends badly is logged as what
// happened: cut by the upstream (its error code), or left by the client (aborted), each once and still marked as
// declined by the upstream.
t.test('websocket-declined-cut', async (t) => {
  /** An upstream that declines every upgrade with a 403 promising 100 bytes, sends 10, then does what `then` says. */
  async function decliner (t: Tap, then: (socket: Socket) => void): Promise<string> {
    const server = createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', () => {
        socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789')
        then(socket)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const sockets = new Set<Socket>()
    server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
    t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
    const address = server.address() as { port: number }
    return `http://127.0.0.1:${address.port}`
  }

  async function declinedLine (t: Tap, then: (socket: Socket) => void, client: (socket: Socket) => void): Promise<Record<string, unknown>> {
    const url = await decliner(t, then)
    const gw = await gateway(t, { pools: { p: { targets: [url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const c = await sendHandshake(t, gw.url)
    await waitFor(() => c.received().includes('0123456789'))
    client(c.socket)
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    await new Promise((resolve) => setTimeout(resolve, 50)) // a second line would show by now
    const lines = gw.accessLogs().filter((l) => l.upgrade === true)
    t.equal(lines.length, 1, 'one line')
    const target = gw.gateway.pools().get('p')!.pool.targets[0]!
    await waitFor(() => target.inFlight === 0)
    return lines[0]!
  }

  t.test('the upstream resets in the middle of its 403: logged with the upstream\'s error', async (t) => {
    const line = await declinedLine(t, (socket) => setTimeout(() => socket.resetAndDestroy(), 20), () => {})
    t.equal(line.status, 403)
    t.equal(line.upstreamDeclinedUpgrade, true)
    t.equal(line.error, 'upstream_unreachable', 'as a request cut mid-body by a reset is logged')
    t.equal(line.aborted, undefined)
  })

  t.test('the client leaves in the middle of the 403: logged as aborted', async (t) => {
    const line = await declinedLine(t, () => {}, (socket) => socket.resetAndDestroy())
    t.equal(line.status, 403)
    t.equal(line.upstreamDeclinedUpgrade, true)
    t.equal(line.aborted, true)
  })
})
