// The dashboard's live stream (src/admin/live.ts): each subtest is one behaviour, named as its file was.
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { LiveStream, type LiveStreamOptions } from '../../src/admin/live.ts'
import { connectSse, type SseClient } from '../dashboard/sse-client.ts'
import { ManualClock } from '../helpers/clock.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { once } from 'node:events'
import type { GatewayEvent } from '../../src/admin/status-types.ts'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { waitUntil } from '../dashboard/wait.ts'

// disconnectAll() (the admin token rotated) ends every stream and still takes new watchers: one that connects while
// the ended streams are still closing (the page reconnecting at once with the new token) is a watcher like any
// other, with its refresh snapshots and heartbeats, not one left without timers because the ended streams were
// still counted. (src/admin/live.ts, disconnectAll: the watchers are forgotten at once.)
t.test('admin-live-disconnect-all-then-attach', async (t) => {
  t.test('a watcher attached right after disconnectAll gets its refresh snapshots', async (t) => {
    const clock = new ManualClock()
    let built = 0
    const live = new LiveStream({ clock, snapshot: () => ({ n: ++built }), refreshMs: 5000, heartbeatMs: 600_000 })
    t.teardown(() => live.close())
    let requests = 0
    const { url } = await serveOnLoopback(t, (_req, res: ServerResponse) => {
      // the second watcher arrives in the same turn as the rotation: the first one's 'close' has not come yet
      if (++requests === 2) live.disconnectAll()
      live.attach(res)
    })
    const old = await connectSse(url)
    t.teardown(() => old.close())
    await old.waitFor('snapshot', 1)
    const renewed = await connectSse(url)
    t.teardown(() => renewed.close())
    await renewed.waitFor('snapshot', 1)
    await old.ended
    t.equal(live.clients, 1, 'only the new watcher')
    clock.advance(5000)
    await renewed.waitFor('snapshot', 2)
    t.pass('the refresh snapshot arrived')
  })
})

// A watcher that keeps up gets each snapshot once. A large snapshot fills Node's write buffer and a 'drain' follows
// even for a watcher that reads at once: only a watcher that missed a snapshot while behind is sent the newest on
// 'drain'; one that missed nothing must not be sent the last snapshot a second time (every large snapshot would
// go out twice to every watcher). (src/admin/live.ts, #caughtUp: `if (watcher.behindSince === undefined) return`.)
t.test('admin-live-drain-no-duplicate', async (t) => {
  const EVENT: GatewayEvent = { at: '2026-01-01T00:00:00.000Z', kind: 'breaker', pool: 'pay', message: 'circuit breaker open' }
  /** More than a writable's 16 KiB high-water mark: writing it asks for a 'drain'. */
  const PADDING = 'x'.repeat(64 * 1024)

  t.test("a snapshot that was written is not sent again on 'drain'", async (t) => {
    const clock = new ManualClock()
    let built = 0
    const live = new LiveStream({ clock, snapshot: () => ({ n: ++built, padding: PADDING }), minIntervalMs: 0, refreshMs: 600_000, heartbeatMs: 600_000 })
    t.teardown(() => live.close())
    let response: ServerResponse | undefined
    const { url } = await serveOnLoopback(t, (_req, res) => {
      response = res
      live.attach(res)
    })
    const client = await connectSse(url)
    t.teardown(() => client.close())
    await client.waitFor('snapshot', 1)

    live.markDirty()
    clock.advance(0)
    t.equal(response!.writableNeedDrain, true, 'the broadcast filled the write buffer')
    await once(response!, 'drain')
    live.publishEvent(EVENT) // after the drain: it arrives after anything the drain sent
    await client.waitFor('event', 1)
    t.same(client.of('snapshot').map((f) => (f.data as { n: number }).n), [1, 2], 'each snapshot once')
  })
})

// The dashboard's live stream: real sockets, a manual clock. Throttling is asserted on the number of snapshots
// built (exact, synchronous with the clock); delivery on the frames the client actually received.
t.test('admin-live', async (t) => {
  const EVENT: GatewayEvent = { at: '2026-01-01T00:00:00.000Z', kind: 'breaker', pool: 'pay', message: 'circuit breaker open' }

  async function setup (t: Test, options: Partial<LiveStreamOptions> = {}) {
    const clock = new ManualClock()
    let built = 0
    const live = new LiveStream({
      clock,
      backlog: () => [EVENT],
      snapshot: () => ({ n: ++built }),
      ...options,
    })
    const server = createServer((_req, res) => live.attach(res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live`
    t.teardown(async () => {
      live.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })
    const watch = async (): Promise<SseClient> => {
      const client = await connectSse(url)
      t.teardown(() => client.close())
      await client.waitFor('snapshot', 1)
      return client
    }
    // writes snapshots to watchers that do not read until the stream lets go of them
    const snapshotUntilDisconnected = (): Promise<void> => waitUntil(() => {
      live.markDirty()
      clock.advance(0)
      return live.clients === 0
    }, 5000, 20)
    return { clock, live, url, watch, snapshotUntilDisconnected, built: () => built }
  }

  t.test('a watcher gets the reconnect delay, the backlog and a snapshot at once', async (t) => {
    const { live, watch } = await setup(t)
    const client = await watch()
    t.equal(client.status, 200)
    t.match(client.headers['content-type'], /^text\/event-stream/)
    t.equal(client.headers['cache-control'], 'no-cache, no-transform')
    // a buffering reverse proxy in front of the admin port (nginx) must not hold the stream back into bursts
    t.equal(client.headers['x-accel-buffering'], 'no')
    t.same(client.frames.map((f) => f.kind), ['retry', 'backlog', 'snapshot'])
    t.equal(client.of('retry')[0]!.text, '2000')
    t.same(client.of('backlog')[0]!.data, [EVENT])
    t.same(client.of('snapshot')[0]!.data, { n: 1 })
    t.equal(live.clients, 1)
  })

  t.test('nothing is built or scheduled while nobody watches', async (t) => {
    const { clock, live, built } = await setup(t)
    for (let i = 0; i < 5; i++) {
      live.markDirty()
      live.publishEvent(EVENT)
    }
    clock.advance(60_000)
    t.equal(built(), 0, 'no snapshot built')
    t.equal(clock.pendingTimers, 0, 'no timer')
  })

  t.test('dirty marks are coalesced: one snapshot per minIntervalMs at most', async (t) => {
    const { clock, live, watch, built } = await setup(t, { minIntervalMs: 500, refreshMs: 60_000, heartbeatMs: 60_000 })
    const client = await watch()
    // [ms before the marks, dirty marks, ms after them, snapshots built so far (1: the watcher's first)]
    const steps: [before: number, marks: number, after: number, total: number][] = [
      [0, 3, 0, 2], // nothing broadcast yet: at once, three marks make one snapshot
      [100, 4, 399, 2], // held back until 500 ms after the last broadcast
      [0, 0, 1, 3],
      [0, 0, 5000, 3], // not dirty: nothing more
      [0, 1, 0, 4], // long after the last one: at once
    ]
    for (const [before, marks, after, total] of steps) {
      clock.advance(before)
      for (let i = 0; i < marks; i++) live.markDirty()
      clock.advance(after)
      t.equal(built(), total, `+${before} ms, ${marks} marks, +${after} ms`)
    }
    const frames = await client.waitFor('snapshot', 4)
    t.same(frames.map((f) => f.data), [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }])
  })

  t.test('a snapshot goes out every refreshMs even when nothing is marked dirty', async (t) => {
    const { clock, watch, built } = await setup(t, { refreshMs: 5000, heartbeatMs: 60_000 })
    const client = await watch()
    clock.advance(4999)
    t.equal(built(), 1)
    clock.advance(1)
    t.equal(built(), 2)
    clock.advance(15_000)
    t.equal(built(), 5)
    await client.waitFor('snapshot', 5)
  })

  t.test('a dirty snapshot postpones the next refresh', async (t) => {
    const { clock, live, watch, built } = await setup(t, { refreshMs: 5000, heartbeatMs: 60_000 })
    await watch()
    clock.advance(3000)
    live.markDirty()
    clock.advance(0)
    t.equal(built(), 2, 'dirty snapshot at 3 s')
    clock.advance(2000)
    t.equal(built(), 2, 'no refresh at 5 s: one went out 2 s ago')
    clock.advance(3000)
    t.equal(built(), 3, 'refresh at 8 s')
  })

  t.test('heartbeats are comments every heartbeatMs', async (t) => {
    const { clock, watch, built } = await setup(t, { refreshMs: 600_000, heartbeatMs: 15_000 })
    const client = await watch()
    clock.advance(45_000)
    const beats = await client.waitFor('comment', 3)
    t.same(beats.map((f) => f.text), ['heartbeat', 'heartbeat', 'heartbeat'])
    t.equal(built(), 1, 'heartbeats build no snapshot')
  })

  t.test('events go out as they come, ahead of the throttled snapshot they cause', async (t) => {
    const { clock, live, watch, built } = await setup(t, { minIntervalMs: 500 })
    const client = await watch()
    live.markDirty()
    clock.advance(0) // a snapshot just went out: the next waits 500 ms
    const second: GatewayEvent = { ...EVENT, kind: 'target', target: '10.0.0.1:80', message: 'target ejected' }
    live.publishEvent(EVENT)
    live.publishEvent(second)
    const events = await client.waitFor('event', 2)
    t.same(events.map((f) => f.data), [EVENT, second])
    t.equal(built(), 2, 'no snapshot yet')
    clock.advance(500)
    t.equal(built(), 3, 'then one snapshot for both')
  })

  t.test('every watcher gets the same broadcast; a new one gets its own first snapshot', async (t) => {
    const { clock, live, watch, built } = await setup(t)
    const a = await watch()
    const b = await watch()
    t.equal(live.clients, 2)
    t.equal(built(), 2, 'one first snapshot each')
    live.markDirty()
    clock.advance(0)
    t.equal(built(), 3, 'one broadcast built once')
    t.same((await a.waitFor('snapshot', 2)).map((f) => f.data), [{ n: 1 }, { n: 3 }])
    t.same((await b.waitFor('snapshot', 2)).map((f) => f.data), [{ n: 2 }, { n: 3 }])
  })

  t.test('a watcher that leaves is forgotten, and the last one takes every timer with it', async (t) => {
    const { clock, live, watch } = await setup(t)
    const a = await watch()
    const b = await watch()
    t.ok(clock.pendingTimers > 0, 'timers while watched')
    a.close()
    await waitUntil(() => live.clients === 1)
    t.ok(clock.pendingTimers > 0, 'still watched by one')
    live.markDirty()
    b.close()
    await waitUntil(() => live.clients === 0)
    t.equal(clock.pendingTimers, 0, 'nothing scheduled')
  })

  t.test('close() ends every stream and refuses new watchers with a 503', async (t) => {
    const { clock, live, url, watch } = await setup(t)
    const client = await watch()
    live.close()
    await client.ended
    t.equal(live.clients, 0)
    t.equal(clock.pendingTimers, 0)
    const late = await connectSse(url)
    t.teardown(() => late.close())
    t.equal(late.status, 503)
  })

  t.test('a snapshot that cannot be built is reported, and the stream carries on', async (t) => {
    const errors: unknown[] = []
    let fail = false
    const { clock, live, watch } = await setup(t, {
      snapshot: () => { if (fail) throw new Error('boom'); return { ok: true } },
      onError: (e) => errors.push(e),
    })
    const client = await watch()
    fail = true
    live.markDirty()
    clock.advance(0)
    t.equal(errors.length, 1)
    live.publishEvent(EVENT)
    await client.waitFor('event', 1)
    fail = false
    clock.advance(500)
    live.markDirty()
    clock.advance(0)
    await client.waitFor('snapshot', 2)
  })

  t.test('a watcher that stops reading is disconnected once maxBufferedBytes pile up', async (t) => {
    const big = 'x'.repeat(1024 * 1024)
    const { clock, live, watch, snapshotUntilDisconnected } = await setup(t, { snapshot: () => big, maxBufferedBytes: 256 * 1024, minIntervalMs: 0 })
    const client = await watch()
    client.pause()
    await snapshotUntilDisconnected()
    t.equal(live.clients, 0)
    t.equal(clock.pendingTimers, 0)
  })

  t.test('events piling up unread past maxBufferedBytes disconnect the watcher too', async (t) => {
    // the clock never moves: no snapshot is due, only the events fill the buffer
    const burst: GatewayEvent = { ...EVENT, message: 'x'.repeat(256 * 1024) }
    const { live, watch } = await setup(t, { maxBufferedBytes: 1024 * 1024 })
    const client = await watch()
    client.pause()
    let sent = 0
    await waitUntil(() => {
      live.publishEvent(burst)
      sent++
      return live.clients === 0
    }, 5000, 5)
    t.equal(live.clients, 0, `disconnected after ${sent} events`)
  })

  t.test('HEAD gets the stream\'s head at once and takes no watcher slot (RFC 9110 §9.3.2)', async (t) => {
    const { live, url } = await setup(t, { maxWatchers: 1 })
    const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(2000) })
    t.equal(head.status, 200)
    t.match(head.headers.get('content-type'), /^text\/event-stream/)
    t.equal(live.clients, 0)
    const client = await connectSse(url)
    t.teardown(() => client.close())
    await client.waitFor('snapshot', 1)
    t.equal(client.status, 200, 'the one slot is still free for a watcher')
  })

  t.test('the watcher over maxWatchers gets 503 too_many_watchers with Retry-After (README, GET /live)', async (t) => {
    const { url, watch } = await setup(t, { maxWatchers: 1 })
    await watch()
    const refused = await fetch(url)
    t.equal(refused.status, 503)
    t.equal(refused.headers.get('retry-after'), '2', 'the page\'s reconnect delay, in seconds')
    t.equal(refused.headers.get('cache-control'), 'no-store')
    t.equal((await refused.json() as { error: string }).error, 'too_many_watchers')
  })

  // The admin server gives no timing options: the defaults are what operators get (README, Dashboard).
  t.test('by default, a second dirty snapshot waits 500 ms after the first', async (t) => {
    const { clock, live, watch, built } = await setup(t)
    await watch()
    live.markDirty()
    clock.advance(0)
    t.equal(built(), 2, 'a dirty mark long after the last broadcast goes out at once')
    live.markDirty()
    clock.advance(499)
    t.equal(built(), 2, 'the next waits')
    clock.advance(1)
    t.equal(built(), 3, 'and goes out 500 ms after the last')
  })

  t.test('by default, a snapshot goes out 5 s after the last one', async (t) => {
    const { clock, watch, built } = await setup(t)
    const client = await watch()
    clock.advance(4999)
    t.equal(built(), 1, 'none before 5 s')
    clock.advance(1)
    t.equal(built(), 2, 'one at 5 s')
    await client.waitFor('snapshot', 2)
  })

  t.test('by default, a heartbeat goes out 15 s after the watcher connects', async (t) => {
    const { clock, watch, built } = await setup(t)
    const client = await watch()
    clock.advance(14_999)
    await client.waitFor('snapshot', built())
    t.equal(client.of('comment').length, 0, 'none before 15 s')
    clock.advance(1)
    const beats = await client.waitFor('comment', 1)
    t.equal(beats[0]!.text, 'heartbeat')
  })

  t.test('by default, a watcher with more than 1 MiB unread is disconnected', async (t) => {
    // far more than the kernel's socket buffers take on loopback, far less than a loosened default would hold
    const big = 'x'.repeat(16 * 1024 * 1024)
    const { live, url, snapshotUntilDisconnected } = await setup(t, { snapshot: () => big })
    // paused before the first snapshot is read; the clock never moves, so no more than a second one is written
    const client = await connectSse(url)
    t.teardown(() => client.close())
    client.pause()
    await snapshotUntilDisconnected()
    t.equal(live.clients, 0)
  })
})
