// WebSocket upgrades retried on another target: each subtest is one behaviour, named as its file was.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { HANDSHAKE, sendHandshake } from './queued-handshake.ts'
import { deadPrimary } from './dead-primary.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, refusedUrl, type Tap, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'
import { blackhole } from './blackhole.ts'

// A connect failure's retry is taken only if its backoff ends before the handshake's deadline (timeouts.requestMs),
// as a request's is (src/proxy/attempt.ts #mayRetryAfter): a backoff that ends exactly at the deadline leaves no time
// for the retry, so the handshake is refused 502 upstream_unreachable at once rather than held for the whole
// deadline only to be refused then.
t.test('websocket-retry-backoff-at-deadline', async (t) => {
  t.test('a backoff ending exactly at the deadline: no retry, 502 at once', async (t) => {
    const clock = new ManualClock() // never moved: the deadline and the backoff are both 1000 ms away
    // first retry's backoff: floor(0.5 * 2000) = 1000 ms, the whole of requestMs
    const { gw, live } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2000, maxMs: 2000 } },
      { clock, random: () => 0.5 }, { timeouts: { requestMs: 1000 } })
    const client = await sendHandshake(t, gw.url)
    await waitFor(() => client.isClosed(), 3000)
    t.match(client.received(), /^HTTP\/1\.1 502 /)
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 502, error: 'upstream_unreachable', attempts: 1 })
    t.equal(live.requests.length, 0, 'no retry went out')
  })
})

// A WebSocket handshake waiting out a connect-failure retry's backoff, as a request's retry does (retry-loop.ts):
// a reload meanwhile sends the retry to the pool running under the name then (a rebuilt pool's targets are new, the
// retired one's close), with that pool's settings, and to a target not tried yet, whatever copy of the dead one
// the reload made; a pool the reload removed has none to give. A client cut then for sending too much before its
// 101 is logged as such, as one cut while the handshake is out.
t.test('websocket-retry-backoff', async (t) => {
  type PoolConfig = GatewayConfig['pools'][string]

  /** With random 0.5 the first retry waits half of baseMs, on the manual clock. */
  const BACKOFF_MS = 500

  interface Setup {
    gw: TestGateway
    clock: ManualClock
    dead: string
    live: TestUpstream
    /** The dead primary's failures, over every copy of it the pool has. */
    deadFailures (): number
    reload (config: GatewayConfig): Promise<void>
  }

  /** Pool p: a primary that refuses connections and a live backup; each first attempt fails to connect. */
  function config (dead: string, live: TestUpstream, change: Partial<PoolConfig> = {}, deadWeight = 1): GatewayConfig {
    return {
      pools: {
        p: {
          targets: [{ url: dead, weight: deadWeight }, { url: live.url, backup: true }],
          retry: { attempts: 2, retryOn: ['connect-failure'], backoff: { baseMs: 2 * BACKOFF_MS, maxMs: 2 * BACKOFF_MS } },
          outlier: { enabled: false },
          ...change,
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }
  }

  async function setup (t: Tap): Promise<Setup> {
    const dead = await refusedUrl()
    const live = await upstream(t, 'live')
    const clock = new ManualClock()
    let next = config(dead, live)
    const gw = await startGateway(next, { defaultMetrics: false, clock, random: () => 0.5, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
    t.teardown(() => gw.close())
    return {
      gw, clock, dead, live,
      deadFailures: () => gw.gateway.pools().get('p')!.pool.targets.filter((x) => x.url === dead).reduce((n, x) => n + x.failures, 0),
      async reload (c) {
        next = c
        t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
      },
    }
  }

  /** Sends a handshake and waits until its first attempt has failed and its retry waits out the backoff. */
  async function inBackoff (t: Tap, s: Setup, requestId: string): Promise<{ answer: ReturnType<typeof rawRequest> }> {
    const answer = rawRequest(portOf(s.gw.url), wsHandshake('/ws', requestId))
    await waitFor(() => s.deadFailures() === 1)
    t.ok(s.clock.dueIn().includes(BACKOFF_MS), 'the retry waits out its backoff')
    return { answer } // wrapped: an async function would wait for the answer it returned
  }

  function upgradeLine (gw: TestGateway): Record<string, unknown> | undefined {
    return gw.accessLogs().find((l) => l.upgrade === true)
  }

  t.test('a reload that rebuilds the pool during the backoff: the retry goes to the running pool, with its preserveHost', async (t) => {
    const s = await setup(t)
    const { answer } = await inBackoff(t, s, 'rebuilt')
    // preserveHost (true by default) is a pool setting: the reload builds a new runtime, and retires the one the handshake came in on
    const before = s.gw.gateway.pools().get('p')
    await s.reload(config(s.dead, s.live, { preserveHost: false }))
    t.not(s.gw.gateway.pools().get('p'), before, 'the pool was rebuilt')
    s.clock.advance(BACKOFF_MS)
    const res = await answer
    t.equal(res.status, 101)
    t.equal(s.live.requests.length, 1, 'the live target got the retry')
    t.equal(s.live.requests[0]!.headers.host, `127.0.0.1:${s.live.port}`, 'with the target\'s Host, as the running pool does not preserve the client\'s')
    t.equal(s.live.requests[0]!.rawHeaders.filter((h) => h.toLowerCase() === 'host').length, 1, 'and only that one')
    await waitFor(() => upgradeLine(s.gw) !== undefined)
    t.match(upgradeLine(s.gw), { status: 101, attempts: 2, target: s.live.url })
  })

  t.test('a reload that only re-weights the dead target during the backoff: the retry does not go back to it', async (t) => {
    const s = await setup(t)
    const { answer } = await inBackoff(t, s, 'reweighted')
    const kept = s.gw.gateway.pools().get('p')
    await s.reload(config(s.dead, s.live, {}, 2))
    t.equal(s.gw.gateway.pools().get('p'), kept, 'the pool was kept, the target made anew')
    s.clock.advance(BACKOFF_MS)
    const res = await answer
    t.equal(res.status, 101)
    t.equal(s.deadFailures(), 1, 'the dead upstream was not tried again')
    t.equal(s.live.requests.length, 1, 'the live backup got the retry')
    await waitFor(() => upgradeLine(s.gw) !== undefined)
    t.match(upgradeLine(s.gw), { status: 101, attempts: 2, target: s.live.url })
  })

  t.test('a reload that removes the pool during the backoff: 502 upstream_unreachable, nothing sent', async (t) => {
    const s = await setup(t)
    const { answer } = await inBackoff(t, s, 'removed')
    const other = await upstream(t, 'other')
    await s.reload({ pools: { q: { targets: [other.url] } }, routes: [{ path: '/', pool: 'q' }] })
    s.clock.advance(BACKOFF_MS)
    const res = await answer
    t.equal(res.status, 502)
    t.equal(res.json().error, 'upstream_unreachable')
    t.equal(s.live.requests.length + other.requests.length, 0, 'no upstream got a retry')
    t.match(upgradeLine(s.gw), { status: 502, error: 'upstream_unreachable', attempts: 1 })
  })

  t.test('a client cut during the backoff for sending too much before its 101: logged earlyBytesOverLimit', async (t) => {
    const s = await setup(t)
    const client = rawConnection(t, portOf(s.gw.url))
    await client.connected
    client.socket.write(HANDSHAKE)
    await waitFor(() => s.deadFailures() === 1)
    t.ok(s.clock.dueIn().includes(BACKOFF_MS), 'the retry waits out its backoff')
    client.socket.write(Buffer.alloc(70 * 1024, 1)) // over MAX_EARLY_BYTES
    await waitFor(() => upgradeLine(s.gw) !== undefined)
    t.match(upgradeLine(s.gw), { status: 499, aborted: true, earlyBytesOverLimit: true, attempts: 1 })
    s.clock.advance(BACKOFF_MS)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(s.live.requests.length, 0, 'the retry was never sent')
  })
})

// A WebSocket handshake retried after a connect failure whose next target's queue is full
// (connections.maxQueuedPerTarget) is refused 503 upstream_busy at once, as its first pick would be (upgrade.ts), and
// as a request's retry is: it does not pile onto a target already holding as many waiting attempts as it may.
t.test('websocket-retry-queue-full', async (t) => {
  t.test('the retry\'s target has a full queue: 503 upstream_busy at once, nothing more queued on it', async (t) => {
    const dead = await refusedUrl()
    const stuck = await blackhole(t)
    const gw = await gateway(t, {
      pools: {
        p: {
          targets: [dead, { url: stuck, backup: true }],
          connections: { maxQueuedPerTarget: 1 },
          retry: { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 0, maxMs: 0 } },
          timeouts: { requestMs: 10_000, connectMs: 3_000 }, // long enough to stay open through the test; its close waits it out
          outlier: { enabled: false },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock: new ManualClock(), defaultMetrics: false })
    const backup = gw.gateway.pools().get('p')!.pool.targets.find((x) => x.url === stuck)!
    // the first handshake's retry fills the backup's queue: its connection never opens
    await sendHandshake(t, gw.url)
    await waitFor(() => backup.queued === 1)
    t.ok(backup.queueFull)
    const second = await sendHandshake(t, gw.url)
    await waitFor(() => second.isClosed(), 3000)
    t.match(second.received(), /^HTTP\/1\.1 503 /)
    t.match(second.received(), /"error":"upstream_busy"/)
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 503, error: 'upstream_busy', attempts: 1, target: stuck })
    t.equal(backup.queued, 1, 'nothing more queued on the full target')
  })
})

// A WebSocket handshake's connect-failure retry, sent after a reload rebuilt its pool, carries the Host the running
// pool's preserveHost says: a pool rebuilt to preserve the client's Host sends the client's (chat.example), not the
// target's name the replaced pool wrote. Virtual-hosted upstreams route on it: the wrong one reaches the wrong site.
t.test('websocket-retry-rebuilt-preserve-host', async (t) => {
  t.test('a reload that rebuilds the pool to preserve Host during the backoff: the retry carries the client\'s Host', async (t) => {
    const dead = await refusedUrl()
    const live = await upstream(t, 'live')
    const clock = new ManualClock()
    const config = (preserveHost: boolean): GatewayConfig => ({
      pools: {
        p: {
          targets: [dead, { url: live.url, backup: true }],
          preserveHost,
          // with random 0.5, the first retry waits 500 ms on the manual clock
          retry: { attempts: 2, retryOn: ['connect-failure'], backoff: { baseMs: 1000, maxMs: 1000 } },
          outlier: { enabled: false },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    })
    let next = config(false)
    const gw = await startGateway(next, { defaultMetrics: false, clock, random: () => 0.5, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
    t.teardown(() => gw.close())
    const deadFailures = (): number => gw.gateway.pools().get('p')!.pool.targets.filter((x) => x.url === dead).reduce((n, x) => n + x.failures, 0)
    const answer = rawRequest(portOf(gw.url), wsHandshake('/ws', 'preserved'))
    await waitFor(() => deadFailures() === 1)
    t.ok(clock.dueIn().includes(500), 'the retry waits out its backoff')
    const before = gw.gateway.pools().get('p')
    next = config(true)
    t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
    t.not(gw.gateway.pools().get('p'), before, 'the pool was rebuilt')
    clock.advance(500)
    const res = await answer
    t.equal(res.status, 101)
    t.equal(live.requests.length, 1, 'the live target got the retry')
    t.equal(live.requests[0]!.headers.host, 'chat.example', 'with the client\'s Host, as the running pool preserves it')
    t.equal(live.requests[0]!.rawHeaders.filter((h) => h.toLowerCase() === 'host').length, 1, 'and only that one')
  })
})

// A connect failure's retry waits out its backoff on the gateway's clock however short it is (here 1 ms): only a
// backoff of 0 sends the retry at once. The backoff spaces the attempts a pool's policy allows; the retry is sent
// when its timer fires, never from inside undici's callback for the failed attempt.
t.test('websocket-retry-short-backoff', async (t) => {
  t.test('a 1 ms backoff: the retry waits for the clock, then goes out', async (t) => {
    const clock = new ManualClock()
    // the first retry's backoff: floor(0.5 * 2) = 1 ms
    const { gw, live, deadTarget, liveTarget } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 2, maxMs: 2 } }, { clock, random: () => 0.5 })
    const answer = rawRequest(portOf(gw.url), wsHandshake('/ws', 'short-backoff'))
    await waitFor(() => deadTarget.failures === 1)
    await new Promise((resolve) => setImmediate(resolve)) // a retry sent at once would be out by now
    t.ok(clock.dueIn().includes(1), 'the retry waits out its 1 ms backoff')
    t.equal(liveTarget.inFlight, 0, 'nothing sent before the clock moves')
    clock.advance(1)
    const res = await answer
    t.equal(res.status, 101)
    await waitFor(() => gw.accessLogs().some((l) => l.upgrade === true))
    t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 101, attempts: 2, target: live.url })
  })
})
