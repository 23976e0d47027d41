// A file put back to the bytes the watcher last read, after a POST /reload ran other bytes, runs again: the
// watcher compared each read with its own last read, so CI writing B and reloading, then someone putting A back
// within the watcher's debounce, left the gateway on B with A in the file, silently, until the file changed again.
// At start, likewise, an edit saved while the config was imported was never run.
import { createHash } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ConfigWatcher } from '../../src/config/watch.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.setTimeout(90_000)

t.test('a file put back after a POST /reload of other bytes is reloaded', async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  const b = await TestUpstream.start({ name: 'b' })
  t.teardown(async () => { await a.close(); await b.close() })
  const config = (target: TestUpstream): GatewayConfig => ({
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    pools: { p: { targets: [target.url] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, config(a))
  const cli = await startCli(t, file, { startTimeoutMs: 60_000 })
  const target = async (): Promise<string | undefined> => {
    const status = await (await fetch(`${cli.adminUrl}/status`)).json() as { pools: Record<string, { targets: Array<{ url: string }> }> }
    return status.pools.p?.targets[0]?.url
  }
  t.equal(await target(), a.url)

  writeConfig(file, config(b))
  const reload = await fetch(`${cli.adminUrl}/reload`, { method: 'POST' })
  t.match(await reload.json(), { result: 'success' }, 'CI reloads B')
  writeConfig(file, config(a)) // within the watcher's 200 ms debounce of the first write
  t.equal(await target(), b.url, 'B runs until the watcher reads the file again')
  await waitFor(async () => await target() === a.url, 10_000).catch(() => {}) // judged below
  t.equal(await target(), a.url, 'the file holds A again: A runs')
})

// The same at start: the watcher took its baseline from the file when it started, after the config had loaded. An
// edit saved while the config was imported (a secret fetched at its top level) left the gateway on the old config.
t.test('an edit saved while the config is imported at start runs once the gateway listens', async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  const b = await TestUpstream.start({ name: 'b' })
  t.teardown(async () => { await a.close(); await b.close() })
  const dir = t.testdir()
  const marker = join(dir, 'importing')
  const file = join(dir, 'routes.config.ts')
  const config = (target: TestUpstream): string => `import { writeFileSync } from 'node:fs'
writeFileSync(${JSON.stringify(marker)}, '')
await new Promise((resolve) => setTimeout(resolve, 1000))
export default { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, pools: { p: { targets: ['${target.url}'] } }, routes: [{ path: '/', pool: 'p' }] }
`
  writeFileSync(file, config(a))
  const starting = startCli(t, file, { startTimeoutMs: 60_000 })
  await waitFor(() => existsSync(marker), 30_000)
  writeFileSync(file, config(b)) // while A's import waits at its top level
  const cli = await starting
  const target = async (): Promise<string | undefined> => {
    const status = await (await fetch(`${cli.adminUrl}/status`)).json() as { pools: Record<string, { targets: Array<{ url: string }> }> }
    return status.pools.p?.targets[0]?.url
  }
  await waitFor(async () => await target() === b.url, 15_000).catch(() => {}) // judged below
  t.equal(await target(), b.url, 'the file holds B: B runs')
})

// ConfigWatcher.loaded(hash): a reload the watcher did not start ran bytes of this sha256. The watcher compares later
// reads with them and reads the file again at once, though no file-system event comes: the file may have been put
// back before that reload ended, its event already spent on a read that matched the watcher's own last read.
// The CLI test (watch-after-admin-reload) passes without either half: there the write lands after the reload, and
// its own event makes the read.
t.test('watch-loaded', async (t) => {
  const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

  t.test('told another reload ran other bytes, the watcher reads the file and reports it differs', async (t) => {
    const file = join(t.testdir(), 'routes.config.json')
    writeFileSync(file, '{"a":1}')
    let changed!: () => void
    const change = new Promise<void>((resolve) => { changed = resolve })
    let calls = 0
    const watcher = new ConfigWatcher(file, () => { calls++; changed() }, { debounceMs: 5, onError: (err) => t.error(err) })
    t.teardown(() => watcher.close())
    await watcher.start() // its own read: {"a":1}, no change
    // a POST /reload ran {"b":2}; the file holds {"a":1} again, and no event is coming
    watcher.loaded(sha256('{"b":2}'))
    const giveUp = setTimeout(() => changed(), 5000)
    t.teardown(() => clearTimeout(giveUp))
    await change
    t.equal(calls, 1, 'the file, unlike what ran, is reported without any event')
  })
})
