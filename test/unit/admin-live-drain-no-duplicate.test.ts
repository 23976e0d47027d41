// A watcher that keeps up gets each snapshot once. A large snapshot fills Node's write buffer and a 'drain' follows
// even for a watcher that reads at once: only a watcher that missed a snapshot while behind is sent the newest on
// 'drain'; one that missed nothing must not be sent the last snapshot a second time (every large snapshot would
// go out twice to every watcher). (src/admin/live.ts, #caughtUp: `if (watcher.behindSince === undefined) return`.)
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { LiveStream } from '../../src/admin/live.ts'
import type { GatewayEvent } from '../../src/admin/status-types.ts'
import { connectSse } from '../dashboard/sse-client.ts'
import { ManualClock } from '../helpers/clock.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

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
