// Half-open WebSocket tunnels: each subtest is one behaviour, named as its file was.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, type Tap, upstream } from './setup.ts'
import { openTunnel, wsHandshake } from './ws-tunnel.ts'
import { blackhole } from './blackhole.ts'

// A declined WebSocket upgrade is an answer from the upstream, and a success for the pool's breaker when its status is
// no failure status, as a request's 403 is (forward.ts verdictOf): a half-open breaker whose probe is a handshake the
// upstream declines (403) closes. Not judged, the pool would stay half-open, one probe at a time, for as long as its
// only traffic is refused upgrades from an upstream that is up. A client that leaves in the middle of the declined
// answer says nothing of the upstream, as a request whose client left says nothing: the breaker stays half-open, its
// probe slot free, rather than closing on an answer nobody saw end.
t.test('websocket-half-open-declined', async (t) => {
  /** A gateway whose pool's breaker is half-open, in front of an upstream that answers every handshake with `answer`. */
  async function halfOpenBehind (t: Tap, answer: string) {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('data', () => { socket.write(answer) })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
    const gw = await gateway(t, {
      pools: { p: { targets: [`http://127.0.0.1:${(server.address() as { port: number }).port}`], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const runtime = gw.gateway.pools().get('p')!
    runtime.breaker.force('open')
    await waitFor(() => runtime.breaker.state === 'half-open')
    return { gw, runtime }
  }

  t.test('a half-open breaker\'s probe declined 403: the breaker closes', async (t) => {
    const { gw, runtime } = await halfOpenBehind(t, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno')
    const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
    t.equal(res.status, 403)
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    t.equal(runtime.breaker.state, 'closed', 'the upstream answered: the probe succeeded')
  })

  t.test('the probe\'s client resets in the middle of a 403: the breaker stays half-open, the slot free', async (t) => {
    const { gw, runtime } = await halfOpenBehind(t, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\n\r\n0123456789')
    const client = await sendHandshake(t, gw.url)
    await waitFor(() => client.received().includes('0123456789'))
    client.socket.resetAndDestroy()
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 403, upstreamDeclinedUpgrade: true, aborted: true })
    t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
    t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
  })
})

// A WebSocket handshake a half-open breaker admits as its probe, then refused before any target heard it (no target
// available, or the picked target's queue full), gives the probe slot back at once, as a request does
// (test/resilience/breaker-probe.test.ts): it says nothing of the upstream. Held, the slot would refuse every request
// and upgrade 503 circuit_open until the probe's lease ran out, though nothing had failed.
t.test('websocket-half-open-refused-probe', async (t) => {
  t.test('no target available: 503 no_available_target, the probe slot free again', async (t) => {
    const up = await upstream(t, 'u')
    const gw = await gateway(t, {
      pools: { p: { targets: [up.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const runtime = gw.gateway.pools().get('p')!
    runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
    runtime.breaker.force('open')
    await waitFor(() => runtime.breaker.state === 'half-open')
    const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
    t.equal(res.status, 503)
    t.equal(res.json().error, 'no_available_target')
    t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
    t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
  })

  t.test('the picked target\'s queue full: 503 upstream_busy, the probe slot free again', async (t) => {
    const stuck = await blackhole(t)
    const gw = await gateway(t, {
      pools: {
        p: {
          targets: [stuck],
          connections: { maxQueuedPerTarget: 1 },
          retry: { attempts: 1 },
          timeouts: { requestMs: 10_000, connectMs: 3_000 }, // long enough to stay open through the test; its close waits it out
          outlier: { enabled: false },
          circuitBreaker: { resetTimeoutMs: 200 },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const runtime = gw.gateway.pools().get('p')!
    const target = runtime.pool.targets[0]!
    // a first handshake fills the target's queue: its connection never opens
    await sendHandshake(t, gw.url)
    await waitFor(() => target.queueFull)
    runtime.breaker.force('open')
    await waitFor(() => runtime.breaker.state === 'half-open')
    const res = await rawRequest(portOf(gw.url), wsHandshake('/ws', 'probe'))
    t.equal(res.status, 503)
    t.equal(res.json().error, 'upstream_busy')
    t.equal(runtime.breaker.state, 'half-open', 'neither closed nor reopened')
    t.equal(runtime.breaker.allows(), true, 'the probe slot is free again')
  })
})

// A WebSocket tunnel is judged a success for the pool's breaker when its 101 is written, not when it closes (it may
// stay open for hours): a half-open breaker whose probe is a handshake the upstream switches closes at once, while
// the tunnel still runs. Judged only at its close, the pool would stay half-open (one probe at a time) for as long
// as the probe's tunnel lives.
t.test('websocket-half-open-tunnel-probe', async (t) => {
  t.test('a half-open breaker\'s probe switched to a tunnel: the breaker closes while the tunnel runs', async (t) => {
    const up = await upstream(t, 'u')
    const gw = await gateway(t, {
      pools: { p: { targets: [up.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 200 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    const runtime = gw.gateway.pools().get('p')!
    runtime.breaker.force('open')
    await waitFor(() => runtime.breaker.state === 'half-open')
    const tunnel = await openTunnel(t, portOf(gw.url))
    t.equal(runtime.breaker.state, 'closed', 'the 101 closed it')
    t.notOk(tunnel.isClosed(), 'the tunnel still runs')
    await tunnel.roundTrip()
  })
})
