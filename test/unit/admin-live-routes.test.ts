// The live stream's `routes` message (src/admin/live.ts, #framesFor): a watcher gets a routes list before the first
// snapshot built over it, and never the same list twice; the list's frame is built once however many watchers
// get it; a watcher that fell behind while the routes changed gets the newest list, then the newest snapshot.
import type { ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { LiveStream } from '../../src/admin/live.ts'
import { connectSse, type SseClient } from '../dashboard/sse-client.ts'
import { waitUntil } from '../dashboard/wait.ts'
import { ManualClock } from '../helpers/clock.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

/** A routes list whose frame counts how often it is turned into JSON. */
function list (version: number, counted: { json: number }): unknown[] {
  return [{ version, toJSON: () => { counted.json++; return { version } } }]
}

async function setup (t: Test, padding = '') {
  const clock = new ManualClock()
  const counted = { json: 0 }
  let routes = list(1, counted)
  let built = 0
  const live = new LiveStream({
    clock,
    minIntervalMs: 0,
    refreshMs: 600_000,
    heartbeatMs: 600_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    routes: () => routes,
    snapshot: (sent) => ({ n: ++built, over: (sent?.[0] as { version: number } | undefined)?.version, padding }),
  })
  t.teardown(() => live.close())
  const responses: ServerResponse[] = []
  const { url } = await serveOnLoopback(t, (_req, res) => {
    responses.push(res)
    live.attach(res)
  })
  const watch = async (): Promise<SseClient> => {
    const client = await connectSse(url)
    t.teardown(() => client.close())
    await client.waitFor('snapshot', 1)
    return client
  }
  const snapshot = (): void => {
    live.markDirty()
    clock.advance(0)
  }
  return { live, watch, snapshot, responses, counted, setRoutes: (version: number) => { routes = list(version, counted) } }
}

const kinds = (client: SseClient): string[] => client.frames.map((f) => f.kind).filter((k) => k !== 'retry')
const versions = (client: SseClient, kind: string): unknown[] =>
  client.of(kind).map((f) => kind === 'routes' ? (f.data as { version: number }[])[0]!.version : (f.data as { over: number }).over)

t.test('each watcher gets a list once, before the first snapshot over it; its frame is built once', async (t) => {
  const { watch, snapshot, counted, setRoutes } = await setup(t)
  const a = await watch()
  const b = await watch()
  snapshot()
  snapshot()
  await a.waitFor('snapshot', 3)
  await b.waitFor('snapshot', 3)
  t.same(kinds(a), ['backlog', 'routes', 'snapshot', 'snapshot', 'snapshot'])
  t.same(kinds(b), ['backlog', 'routes', 'snapshot', 'snapshot', 'snapshot'])
  t.equal(counted.json, 1, 'one frame for both watchers and every snapshot')

  setRoutes(2)
  snapshot()
  await a.waitFor('snapshot', 4)
  await b.waitFor('snapshot', 4)
  for (const client of [a, b]) {
    t.same(kinds(client).slice(-2), ['routes', 'snapshot'], 'the new list, then the snapshot over it')
    t.same(versions(client, 'routes'), [1, 2])
    t.equal(versions(client, 'snapshot').at(-1), 2, 'the snapshot was built over the list sent before it')
  }
  t.equal(counted.json, 2)
})

t.test('without routes(), no routes message and snapshot() gets undefined', async (t) => {
  const clock = new ManualClock()
  const seen: unknown[] = []
  const live = new LiveStream({ clock, snapshot: (sent) => { seen.push(sent); return {} } })
  t.teardown(() => live.close())
  const { url } = await serveOnLoopback(t, (_req, res) => live.attach(res))
  const client = await connectSse(url)
  t.teardown(() => client.close())
  await client.waitFor('snapshot', 1)
  t.same(kinds(client), ['backlog', 'snapshot'])
  t.same(seen, [undefined])
})

t.test('a watcher behind while the routes changed twice gets the newest list, then the newest snapshot', async (t) => {
  // a 256 KiB snapshot fills a paused reader's socket within a few writes
  const { watch, snapshot, responses, setRoutes } = await setup(t, 'x'.repeat(256 * 1024))
  const slow = await watch()
  const response = responses[0]!
  slow.pause()
  await waitUntil(() => {
    if (response.writableNeedDrain) return true
    snapshot()
    return false
  }, 5000, 5)
  const framesBefore = slow.frames.length
  setRoutes(2)
  snapshot()
  setRoutes(3)
  snapshot()
  t.equal(response.writableNeedDrain, true, 'still behind: both snapshots skipped')
  slow.resume()
  await waitUntil(() => versions(slow, 'snapshot').at(-1) === 3, 5000)
  const after = slow.frames.slice(framesBefore).filter((f) => f.kind === 'routes')
  t.same(after.map((f) => (f.data as { version: number }[])[0]!.version), [3], 'the newest list only, once')
  t.same(kinds(slow).slice(-2), ['routes', 'snapshot'])
})
