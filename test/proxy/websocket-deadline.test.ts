// A WebSocket handshake's deadline: each subtest is one behaviour, named as its file was.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { HANDSHAKE, sendHandshake } from './queued-handshake.ts'
import { gateway, type Tap } from './setup.ts'
import { blackhole } from './blackhole.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { portOf } from './raw.ts'
import { deadPrimary } from './dead-primary.ts'

// An upstream answer head already waiting in the socket when the handshake's deadline timer fires still counts: the
// deadline's verdict runs on the next turn, after the waiting bytes are read, and finds the answer there, as a
// request's does (src/proxy/attempt.ts). A declined answer that arrived in time is passed on whole, no timeout and
// no failure of the target; a loop that stalled past the deadline must not turn a timely answer into a 504 cut.
t.test('websocket-deadline-answer-waiting', async (t) => {
  t.test('a 403 head in the socket as the deadline fires: passed on whole, not cut as a timeout', async (t) => {
    let upstreamSocket: Socket | undefined
    let handshakeIn = false
    const server = createServer((socket) => {
      upstreamSocket = socket
      socket.on('error', () => {})
      socket.on('data', (chunk: Buffer) => { if (chunk.includes('\r\n\r\n')) handshakeIn = true })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { upstreamSocket?.destroy(); server.close() })
    const clock = new ManualClock()
    const gw = await gateway(t, {
      pools: {
        p: {
          targets: [`http://127.0.0.1:${(server.address() as { port: number }).port}`],
          retry: { attempts: 1 },
          timeouts: { requestMs: 500 },
          outlier: { enabled: false },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock, defaultMetrics: false })
    const target = gw.gateway.pools().get('p')!.pool.targets[0]!
    const client = await sendHandshake(t, gw.url)
    await waitFor(() => handshakeIn)
    // in one turn: the head and half the body reach the gateway's socket, and the deadline's timer fires (its verdict
    // waits for the next turn's check phase, after the poll phase has read them)
    upstreamSocket!.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\n0123456789')
    clock.advance(500)
    await waitFor(() => client.received().includes('0123456789'))
    upstreamSocket!.write('abcdefghij')
    await client.closed
    t.match(client.received(), /^HTTP\/1\.1 403 /)
    t.ok(client.received().endsWith('0123456789abcdefghij'), 'the whole body')
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    const line = gw.accessLogs().find((l) => l.upgrade === true)!
    t.match(line, { status: 403, upstreamDeclinedUpgrade: true })
    t.equal(line.error, undefined, 'not cut as a timeout')
    await waitFor(() => target.inFlight === 0)
    t.equal(target.failures, 0, 'no failure of the target')
  })
})

// A WebSocket handshake timed out (504) while its connection was still being opened stays counted in the target's
// queue until that connection takes it and it is aborted, as connections.maxQueuedPerTarget says: the connection
// attempt is still out, and a target that stopped accepting must not be sent one new connection per handshake. With
// the queue full, the next handshake is 503 upstream_busy at once.
t.test('websocket-deadline-connecting-queued', async (t) => {
  t.test('timed out while its connection opens: still counted in the queue, the next handshake 503 upstream_busy', async (t) => {
    const url = await blackhole(t)
    const clock = new ManualClock()
    const gw = await gateway(t, {
      pools: { p: { targets: [url], connections: { maxQueuedPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 3_000 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock, defaultMetrics: false })
    const target = gw.gateway.pools().get('p')!.pool.targets[0]!
    const first = await sendHandshake(t, gw.url)
    await waitFor(() => target.queued === 1)
    clock.advance(300)
    await first.closed
    t.match(first.received(), /^HTTP\/1\.1 504 /)
    t.equal(target.queued, 1, 'still counted: its connection is still being opened')
    const second = await sendHandshake(t, gw.url)
    await waitFor(() => second.isClosed(), 3000)
    t.match(second.received(), /^HTTP\/1\.1 503 /)
    t.match(second.received(), /"error":"upstream_busy"/)
  })
})

// A WebSocket handshake whose connection is still being opened when timeouts.requestMs runs out is the target's
// timeout: 504 upstream_timeout and a failure of the target (it is slow to accept), as for a request
// (src/proxy/attempt.ts). Only a handshake still queued behind busy connections is 503 upstream_busy, no fault of the
// target's. Mixing the two would hide a target that stopped accepting connections behind "busy" answers.
// A client the gateway has just cut (over 64 KiB sent before its 101) is a client that left, though, even when
// requestMs runs out in the same turn, before the socket's 'close' has been heard: one 499 line marked
// earlyBytesOverLimit, and no failure of the target. Counting it as the target's timeout would let one flooding
// client eject a target and open the breaker.
t.test('websocket-deadline-connecting', async (t) => {
  /** A handshake sent to a target that never accepts: its connection is being opened, the deadline not yet due. */
  async function handshakeConnecting (t: Tap) {
    const url = await blackhole(t)
    const clock = new ManualClock()
    const gw = await gateway(t, {
      pools: { p: { targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, timeouts: { requestMs: 300, connectMs: 3_000 }, outlier: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock, defaultMetrics: false })
    const target = gw.gateway.pools().get('p')!.pool.targets[0]!
    const client = await sendHandshake(t, gw.url)
    await waitFor(() => target.queued === 1)
    t.equal(target.client.queued, 0, 'not waiting in the queue: its connection is being opened')
    return { gw, clock, target, client }
  }

  t.test('requestMs runs out while the connection is being opened: 504 upstream_timeout, the target\'s failure', async (t) => {
    const { gw, clock, target, client } = await handshakeConnecting(t)
    clock.advance(300)
    await client.closed
    t.match(client.received(), /^HTTP\/1\.1 504 /)
    t.match(client.received(), /"error":"upstream_timeout"/)
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 504, error: 'upstream_timeout', attempts: 1 })
    t.equal(target.failures, 1, 'the target\'s failure')
  })

  t.test('cut for flooding as the deadline falls due, its connection being opened: 499, no failure of the target', async (t) => {
    const { gw, clock, target, client } = await handshakeConnecting(t)
    // in one turn: the flood reaches the gateway's socket (read before the deadline's verdict runs, on the next turn's
    // check phase) and the deadline falls due
    client.socket.write(Buffer.alloc(64 * 1024 + 1, 'x'))
    clock.advance(300)
    await client.closed
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    const lines = gw.accessLogs().filter((l) => l.upgrade === true)
    t.equal(lines.length, 1)
    t.match(lines[0], { status: 499, aborted: true, earlyBytesOverLimit: true })
    t.equal(lines[0]!.error, undefined, 'not upstream_timeout')
    t.equal(target.failures, 0, 'no failure of the target')
  })
})

// A handshake whose deadline (timeouts.requestMs) falls due while it waits out a connect failure's backoff is refused
// then, 502 upstream_unreachable, the pool's failure: the retry is cancelled, never sent after the deadline. Node
// counts a timer from the loop's cached time, which a busy loop leaves behind the monotonic clock the retry check
// reads: a backoff judged to end before the deadline can still fall due after the deadline's timer. Without this, the
// retry goes out with no deadline left to bound it, and the client waits on whatever the next target does.
t.test('websocket-deadline-during-backoff', async (t) => {
  /** A manual clock whose next monotonic reading is `lag` ms ahead of the time its timers count from (a stale loop time). */
  class StaleLoopClock extends ManualClock {
    lag = 0
    monotonicNow (): number {
      const at = this.now() + this.lag
      this.lag = 0
      return at
    }
  }

  t.test('the deadline reached during the backoff: 502 upstream_unreachable, no retry sent, a breaker failure', async (t) => {
    const clock = new StaleLoopClock()
    // first retry's backoff: floor(0.5 * 2400) = 1200 ms
    const { gw, live, deadTarget, liveTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2400, maxMs: 2400 } },
      { clock, random: () => 0.5 }, { timeouts: { requestMs: 1000 }, circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 50 } })
    const client = rawConnection(t, portOf(gw.url))
    await client.connected
    // the handshake's deadline is read 300 ms ahead of its timer: 1300 ms on the monotonic clock, the timer at 1000
    clock.lag = 300
    client.socket.write(HANDSHAKE)
    await waitFor(() => deadTarget.failures === 1)
    t.same(clock.dueIn(), [1000, 1200], 'the deadline\'s timer first, then the backoff judged to end before the deadline')
    clock.advance(1000)
    await waitFor(() => client.isClosed(), 3000)
    t.match(client.received(), /^HTTP\/1\.1 502 /)
    t.match(client.received(), /"error":"upstream_unreachable"/)
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 1 })
    clock.advance(1000) // past the backoff's end: a retry still armed would be dispatched now
    t.equal(liveTarget.inFlight, 0, 'the retry was never sent')
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(live.requests.length, 0, 'the live target never got it')
    t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'the breaker counted the failure')
  })
})
