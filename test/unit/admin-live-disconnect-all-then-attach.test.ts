// disconnectAll() (the admin token rotated) ends every stream and still takes new watchers: one that connects while
// the ended streams are still closing (the page reconnecting at once with the new token) is a watcher like any
// other, with its refresh snapshots and heartbeats, not one left without timers because the ended streams were
// still counted. (src/admin/live.ts, disconnectAll: the watchers are forgotten at once.)
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { LiveStream } from '../../src/admin/live.ts'
import { connectSse } from '../dashboard/sse-client.ts'
import { ManualClock } from '../helpers/clock.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

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
