import t, { type Test } from 'tap'
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigWatcher } from '../../src/config/watch.ts'

const DEBOUNCE_MS = 30
// Proving that nothing fired needs a wait on a real file system: events arrive asynchronously and there is
// no signal for "no event is coming". Several debounce periods is ample for local inotify/FSEvents delivery.
const QUIET_MS = 250
// Every change below is made with synchronous fs calls: the watcher can only look between event-loop turns,
// so each step is atomic to it, as rename and kubelet's swap are, and a loaded machine cannot make a test see
// a half-written file or split one burst in two.

interface Watched {
  dir: string
  file: string
  /** performance.now() of every onChange call. */
  calls: number[]
  watcher: ConfigWatcher
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-watch-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Starts a watcher on `file` (which must already be set up); closed in teardown. */
async function watchFile (t: Test, dir: string, file: string, debounceMs = DEBOUNCE_MS): Promise<Watched> {
  const calls: number[] = []
  const watcher = new ConfigWatcher(file, () => calls.push(performance.now()), {
    debounceMs,
    onError: (err) => t.error(err, 'the watcher reports no error'),
  })
  t.teardown(() => watcher.close())
  await watcher.start()
  return { dir, file, calls, watcher }
}

async function plainFile (t: Test, content = 'export default { v: 1 }\n', debounceMs = DEBOUNCE_MS): Promise<Watched> {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, content)
  return watchFile(t, dir, file, debounceMs)
}

async function waitForCalls (w: { calls: readonly unknown[] }, count: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (w.calls.length < count) {
    if (Date.now() > until) throw new Error(`expected ${count} call(s) within ${timeoutMs}ms, saw ${w.calls.length}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const quiet = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, QUIET_MS))

t.test('an in-place write fires once, a debounce period after the last write of a burst', async (t) => {
  const w = await plainFile(t)
  writeFileSync(w.file, 'export default { v: 2 }\n')
  writeFileSync(w.file, 'export default { v: 3 }\n')
  writeFileSync(w.file, 'export default { v: 4 }\n', { flag: 'r+' })
  const burstEnd = performance.now()
  await waitForCalls(w, 1)
  // the events are handled after the burst, so the debounce timer starts no earlier than burstEnd (1 ms: timer rounding)
  t.ok(w.calls[0]! - burstEnd >= DEBOUNCE_MS - 1, 'not before the debounce period')
  await quiet()
  t.equal(w.calls.length, 1, 'the burst fired once')
})

t.test('an editor writing a temp file and renaming it over fires once', async (t) => {
  const w = await plainFile(t)
  const temp = join(w.dir, '.routes.config.ts.swp')
  writeFileSync(temp, 'export default { v: 2 }\n')
  renameSync(temp, w.file)
  await waitForCalls(w, 1)
  await quiet()
  t.equal(w.calls.length, 1)
})

t.test('the Kubernetes ConfigMap ..data swap fires once; a swap to identical content does not fire', async (t) => {
  const dir = await tempDir(t)
  const name = 'routes.config.ts'
  let generation = 0
  /** What kubelet does: write a new timestamped dir, point ..data_tmp at it, rename it over ..data, drop the old dir. */
  const publish = (content: string): void => {
    const previous = generation === 0 ? undefined : `..2026_12_01_10_00_00.${generation}`
    const next = `..2026_12_01_10_00_00.${++generation}`
    mkdirSync(join(dir, next))
    writeFileSync(join(dir, next, name), content)
    symlinkSync(next, join(dir, '..data_tmp'))
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
    if (previous !== undefined) rmSync(join(dir, previous), { recursive: true })
  }
  publish('export default { v: 1 }\n')
  symlinkSync(join('..data', name), join(dir, name))
  const w = await watchFile(t, dir, join(dir, name))

  publish('export default { v: 2 }\n')
  await waitForCalls(w, 1)
  await quiet()
  t.equal(w.calls.length, 1, 'one update, one call')

  publish('export default { v: 2 }\n')
  await quiet()
  t.equal(w.calls.length, 1, 'a resync with the same content is silent')

  publish('export default { v: 3 }\n')
  await waitForCalls(w, 2)
  t.pass('still watching after several swaps')
})

t.test('rewriting identical content or touching the file does not fire', async (t) => {
  const w = await plainFile(t, 'same\n')
  writeFileSync(w.file, 'same\n')
  const later = new Date(Date.now() + 60_000)
  utimesSync(w.file, later, later)
  const temp = join(w.dir, 'routes.config.ts.tmp')
  writeFileSync(temp, 'same\n')
  renameSync(temp, w.file)
  await quiet()
  t.equal(w.calls.length, 0)
})

t.test('a file that disappears fires only once it is back with new content', async (t) => {
  const w = await plainFile(t, 'v1\n')
  unlinkSync(w.file)
  await quiet()
  t.equal(w.calls.length, 0, 'nothing while the file is missing')
  writeFileSync(w.file, 'v1\n')
  await quiet()
  t.equal(w.calls.length, 0, 'back with the content it had: nothing changed')
  unlinkSync(w.file)
  writeFileSync(w.file, 'v2\n')
  await waitForCalls(w, 1)
  await quiet()
  t.equal(w.calls.length, 1)
})

t.test("the file's directory removed and made again (a volume remount) is watched again", async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'conf')
  mkdirSync(dir)
  writeFileSync(join(dir, 'routes.config.ts'), 'export default { v: 1 }\n')
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  rmSync(dir, { recursive: true })
  await quiet()
  t.equal(w.calls.length, 0, 'nothing while the directory is gone')
  mkdirSync(dir)
  writeFileSync(w.file, 'export default { v: 2 }\n')
  await waitForCalls(w, 1)
  writeFileSync(w.file, 'export default { v: 3 }\n')
  await waitForCalls(w, 2)
  await quiet()
  t.equal(w.calls.length, 2, 'the new content, then the write in place')
})

t.test('a directory removed and made again at once, which may reuse the inode number, is watched again', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'conf')
  mkdirSync(dir)
  writeFileSync(join(dir, 'routes.config.ts'), 'export default { v: 1 }\n')
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  rmSync(dir, { recursive: true })
  mkdirSync(dir)
  writeFileSync(w.file, 'export default { v: 2 }\n')
  await waitForCalls(w, 1)
  await quiet()
  writeFileSync(w.file, 'export default { v: 3 }\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2)
})

t.test('directories removed up the tree are watched again once they are back', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'volume', 'conf')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'routes.config.ts'), 'export default { v: 1 }\n')
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  rmSync(join(root, 'volume'), { recursive: true })
  await quiet()
  mkdirSync(join(root, 'volume'))
  await quiet()
  mkdirSync(dir)
  await quiet()
  writeFileSync(w.file, 'export default { v: 2 }\n')
  await waitForCalls(w, 1)
  writeFileSync(w.file, 'export default { v: 3 }\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2)
})

t.test('a symlink to a file in another directory fires when that file is written in place', async (t) => {
  const linkDir = await tempDir(t)
  const realDir = await tempDir(t)
  writeFileSync(join(realDir, 'prod.config.ts'), 'v1\n')
  symlinkSync(join(realDir, 'prod.config.ts'), join(linkDir, 'routes.config.ts'))
  const w = await watchFile(t, linkDir, join(linkDir, 'routes.config.ts'))
  writeFileSync(join(realDir, 'prod.config.ts'), 'v2\n')
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

t.test('close() stops everything, a pending debounce included', async (t) => {
  // a long debounce, so the write's event is surely handled and its timer pending when close() runs
  const debounceMs = 300
  const w = await plainFile(t, 'v1\n', debounceMs)
  writeFileSync(w.file, 'v2\n')
  await new Promise((resolve) => setTimeout(resolve, 50))
  w.watcher.close()
  await new Promise((resolve) => setTimeout(resolve, debounceMs + QUIET_MS))
  t.equal(w.calls.length, 0, 'the pending check never ran')
  writeFileSync(w.file, 'v3\n')
  await quiet()
  t.equal(w.calls.length, 0, 'later changes are not watched')
})

t.test('an onChange that throws is reported to onError and watching goes on', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'v1\n')
  const errors: unknown[] = []
  const calls: number[] = []
  const failure = new Error('reload exploded')
  const watcher = new ConfigWatcher(file, () => { calls.push(performance.now()); throw failure }, { debounceMs: DEBOUNCE_MS, onError: (err) => errors.push(err) })
  t.teardown(() => watcher.close())
  await watcher.start()
  writeFileSync(file, 'v2\n')
  await waitForCalls({ calls }, 1)
  t.strictSame(errors, [failure])
  writeFileSync(file, 'v3\n')
  await waitForCalls({ calls }, 2)
  t.strictSame(errors, [failure, failure])
})
