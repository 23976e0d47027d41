// A watcher that stops reading /live is not sent a new snapshot while its previous one is still buffered in the
// gateway: it holds about one snapshot however many go out meanwhile, and once it reads again it gets the newest.
import t from 'tap'
import type { ServerResponse } from 'node:http'
import { LiveStream } from '../../src/admin/live.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { waitFor } from '../helpers/gateway.ts'
import { connectSse } from './sse-client.ts'

const SNAPSHOT_BYTES = 1024 * 1024
/** Far more than the kernel's socket buffers take on loopback: most of it would pile up in user space. */
const SNAPSHOTS = 40

t.test('a stalled watcher holds about one snapshot, then gets the newest', async (t) => {
  let version = 0
  const padding = 'x'.repeat(SNAPSHOT_BYTES)
  const live = new LiveStream({ snapshot: () => ({ version, padding }), minIntervalMs: 0, refreshMs: 60_000, heartbeatMs: 60_000, maxBufferedBytes: 1024 * 1024 * 1024 })
  t.teardown(() => live.close())
  let watcherResponse: ServerResponse | undefined
  const { url } = await serveOnLoopback(t, (_req, res) => {
    watcherResponse = res
    live.attach(res)
  })
  const watcher = await connectSse(url)
  t.teardown(() => watcher.close())
  await watcher.waitFor('snapshot', 1)
  watcher.pause()

  let mostBuffered = 0
  for (let i = 0; i < SNAPSHOTS; i++) {
    version++
    live.markDirty()
    await new Promise((resolve) => setTimeout(resolve, 2))
    mostBuffered = Math.max(mostBuffered, watcherResponse!.writableLength)
  }
  t.ok(mostBuffered <= 2 * SNAPSHOT_BYTES, `at most about one snapshot buffered in user space (${(mostBuffered / 2 ** 20).toFixed(1)} MiB)`)

  const newest = version
  watcher.resume()
  await waitFor(() => (watcher.of('snapshot').at(-1)?.data as { version: number } | undefined)?.version === newest, 10_000)
  t.ok(watcher.of('snapshot').length < SNAPSHOTS, `skipped snapshots were not sent (${watcher.of('snapshot').length} arrived)`)
})
