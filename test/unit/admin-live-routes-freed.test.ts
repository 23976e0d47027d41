// Nothing of the live stream's routes is kept while nobody watches (src/admin/live.ts #idle): the `routes` frame built
// for the last watchers (5,000 routes are some 340 KB of JSON, and the list it was built from) goes when the last one
// leaves, so a routes list a reload replaced meanwhile is freed, not held until someone opens the dashboard again.
import t from 'tap'
import { LiveStream } from '../../src/admin/live.ts'
import { connectSse } from '../dashboard/sse-client.ts'
import { waitUntil } from '../dashboard/wait.ts'
import { waitUntilCollected } from '../helpers/collected.ts'
import { ManualClock } from '../helpers/clock.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

t.test('the routes list sent to the last watcher is freed once it leaves and the list is replaced', async (t) => {
  const clock = new ManualClock()
  let routes: unknown[] = [{ path: '/old', padding: 'x'.repeat(1024) }]
  const sent = new WeakRef(routes)
  const live = new LiveStream({ clock, refreshMs: 600_000, heartbeatMs: 600_000, routes: () => routes, snapshot: () => ({}) })
  t.teardown(() => live.close())
  const { url } = await serveOnLoopback(t, (_req, res) => live.attach(res))

  const client = await connectSse(url)
  await client.waitFor('snapshot', 1)
  t.equal(client.of('routes').length, 1, 'the watcher got the list')
  client.close()
  await waitUntil(() => live.clients === 0, 5000)

  routes = [{ path: '/new' }] // a reload replaced the routes: nothing else holds the old list
  await waitUntilCollected(() => (sent.deref() === undefined ? [] : ['the routes list of the last watcher']), (held) => {
    throw new Error(`still held: ${held.join(' ')}`)
  })
  t.pass('collected')
})
