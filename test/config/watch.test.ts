import t, { type Test } from 'tap'
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, type FSWatcher } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
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

t.test('a symlink to a file in a subdirectory of its own fires when that file is written in place', async (t) => {
  // the own directory's watch sees nothing inside a subdirectory: routes.config.ts -> live/routes.config.ts, edited
  // in place, was never noticed
  const dir = await tempDir(t)
  mkdirSync(join(dir, 'live'))
  writeFileSync(join(dir, 'live', 'routes.config.ts'), 'v1\n')
  symlinkSync(join('live', 'routes.config.ts'), join(dir, 'routes.config.ts'))
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  writeFileSync(join(dir, 'live', 'routes.config.ts'), 'v2\n')
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

t.test('a link in the middle of a chain pointed elsewhere fires; so does a ..data swap in another directory', async (t) => {
  // routes.config.ts -> live/x.ts -> ../elsewhere/y.ts: re-pointing live/x.ts changes only live/, which the own
  // directory's watch and the final file's directory's do not see
  const dir = await tempDir(t)
  mkdirSync(join(dir, 'live'))
  mkdirSync(join(dir, 'elsewhere'))
  writeFileSync(join(dir, 'elsewhere', 'y.ts'), 'v1\n')
  writeFileSync(join(dir, 'elsewhere', 'z.ts'), 'v2\n')
  symlinkSync(join('..', 'elsewhere', 'y.ts'), join(dir, 'live', 'x.ts'))
  symlinkSync(join('live', 'x.ts'), join(dir, 'routes.config.ts'))
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  symlinkSync(join('..', 'elsewhere', 'z.ts'), join(dir, 'live', 'x.tmp'))
  renameSync(join(dir, 'live', 'x.tmp'), join(dir, 'live', 'x.ts'))
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1, 'the re-pointed link')

  // a ConfigMap mounted in another directory, the config a link into its ..data: the swap happens there
  const mount = await tempDir(t)
  mkdirSync(join(mount, '..v1'))
  writeFileSync(join(mount, '..v1', 'routes.config.ts'), 'm1\n')
  symlinkSync('..v1', join(mount, '..data'))
  const linkDir = await tempDir(t)
  symlinkSync(join(mount, '..data', 'routes.config.ts'), join(linkDir, 'routes.config.ts'))
  const m = await watchFile(t, linkDir, join(linkDir, 'routes.config.ts'))
  mkdirSync(join(mount, '..v2'))
  writeFileSync(join(mount, '..v2', 'routes.config.ts'), 'm2\n')
  symlinkSync('..v2', join(mount, '..data_tmp'))
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'))
  rmSync(join(mount, '..v1'), { recursive: true })
  await waitForCalls(m, 1)
  t.equal(m.calls.length, 1, 'the swapped ..data')
})

t.test("a link target's '..' after a directory link goes up from where that link led, as the kernel reads it", async (t) => {
  // etc/routes.config.ts -> sub/../config.ts, etc/sub -> ../far/deep: the file is far/config.ts; resolved by text,
  // the '..' undid 'sub' before it was followed, led back to the link itself and ended in a false ELOOP
  const root = await tempDir(t)
  mkdirSync(join(root, 'etc'))
  mkdirSync(join(root, 'far', 'deep'), { recursive: true })
  writeFileSync(join(root, 'far', 'config.ts'), 'v1\n')
  symlinkSync(join('..', 'far', 'deep'), join(root, 'etc', 'sub'))
  symlinkSync('sub/../config.ts', join(root, 'etc', 'routes.config.ts')) // not join(), which would take the '..' out
  const w = await watchFile(t, join(root, 'etc'), join(root, 'etc', 'routes.config.ts'))
  writeFileSync(join(root, 'far', 'config.ts'), 'v2\n')
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

t.test("a link through a missing directory and '..' fires once that directory is made again", async (t) => {
  // etc/routes.config.ts -> ../other/missing/../real/config.ts: while other/missing is gone the file cannot be read
  // (the kernel looks 'missing' up before the '..'); folded by text the path led to other/real, which exists, so
  // nothing watched other/ and the mkdir that made the file readable again, with new bytes, went unseen
  const root = await tempDir(t)
  mkdirSync(join(root, 'etc'))
  mkdirSync(join(root, 'other', 'missing'), { recursive: true })
  mkdirSync(join(root, 'other', 'real'))
  writeFileSync(join(root, 'other', 'real', 'config.ts'), 'v1\n')
  symlinkSync('../other/missing/../real/config.ts', join(root, 'etc', 'routes.config.ts'))
  const w = await watchFile(t, join(root, 'etc'), join(root, 'etc', 'routes.config.ts'))
  rmSync(join(root, 'other', 'missing'), { recursive: true })
  await quiet()
  writeFileSync(join(root, 'other', 'real', 'config.ts'), 'v2\n')
  await quiet()
  t.equal(w.calls.length, 0, 'unreadable meanwhile: nothing to load')
  mkdirSync(join(root, 'other', 'missing'))
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

t.test("a link through a file in the way and '..' fires once a directory takes that file's place", async (t) => {
  // etc/routes.config.ts -> ../other/blocker/../real/config.ts with other/blocker a file: the kernel stops there
  // (ENOTDIR), as at a missing part, so other/ is what must be watched
  const root = await tempDir(t)
  mkdirSync(join(root, 'etc'))
  mkdirSync(join(root, 'other', 'real'), { recursive: true })
  writeFileSync(join(root, 'other', 'blocker'), 'a file\n')
  writeFileSync(join(root, 'other', 'real', 'config.ts'), 'v1\n')
  symlinkSync('../other/blocker/../real/config.ts', join(root, 'etc', 'routes.config.ts'))
  const w = await watchFile(t, join(root, 'etc'), join(root, 'etc', 'routes.config.ts'))
  unlinkSync(join(root, 'other', 'blocker'))
  mkdirSync(join(root, 'other', 'blocker'))
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

t.test("a link target's directory removed and made again is watched again", async (t) => {
  const root = await tempDir(t)
  mkdirSync(join(root, 'etc'))
  mkdirSync(join(root, 'srv'))
  writeFileSync(join(root, 'srv', 'config.ts'), 'v1\n')
  symlinkSync(join('..', 'srv', 'config.ts'), join(root, 'etc', 'routes.config.ts'))
  const w = await watchFile(t, join(root, 'etc'), join(root, 'etc', 'routes.config.ts'))
  rmSync(join(root, 'srv'), { recursive: true })
  await quiet()
  mkdirSync(join(root, 'srv'))
  writeFileSync(join(root, 'srv', 'config.ts'), 'v2\n')
  await waitForCalls(w, 1)
  await quiet()
  writeFileSync(join(root, 'srv', 'config.ts'), 'v3\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2)
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

// The gateway's CLI builds its watcher with no debounceMs (src/main.ts): the 200 ms default is what stands between
// an editor's or kubelet's burst of writes and a reload that would read the file half-way through it.
t.test('without debounceMs a change fires no sooner than 200 ms after its event', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'export default { v: 1 }\n')
  const calls: number[] = []
  const watcher = new ConfigWatcher(file, () => calls.push(performance.now()), { onError: (err) => t.error(err, 'the watcher reports no error') })
  t.teardown(() => watcher.close())
  await watcher.start()
  writeFileSync(file, 'export default { v: 2 }\n')
  const written = performance.now()
  await waitForCalls({ calls }, 1)
  t.ok(calls[0]! - written >= 200 - 1, 'the default debounce period passed first')
})

// A writer slower than one event-loop turn (a tool that writes a config in several steps) makes events spread over
// time: each event restarts the quiet period, so the reload reads the file once, after the last step, instead of
// once per step with the steps in between.
t.test('events spread over less than a debounce period apart fire once, a debounce period after the last', async (t) => {
  const debounceMs = 400
  const w = await plainFile(t, 'v1\n', debounceMs)
  const gap = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 150))
  writeFileSync(w.file, 'v2\n')
  await gap()
  writeFileSync(w.file, 'v3\n')
  await gap()
  writeFileSync(w.file, 'v4\n')
  const last = performance.now()
  await waitForCalls(w, 1)
  t.ok(w.calls[0]! - last >= debounceMs - 1, 'not before a debounce period after the last write')
  await quiet()
  t.equal(w.calls.length, 1, 'one reload for the whole series')
})

/** A watcher built from src/config/watch.ts with some of its file-system calls replaced (tap's mockImport). */
async function watchWith (t: Test, file: string, mocks: Record<string, object>): Promise<Watched> {
  const { ConfigWatcher: Mocked } = await t.mockImport<typeof import('../../src/config/watch.ts')>('../../src/config/watch.ts', mocks)
  const calls: number[] = []
  const watcher = new Mocked(file, () => calls.push(performance.now()), { debounceMs: DEBOUNCE_MS, onError: (err) => t.error(err, 'the watcher reports no error') })
  t.teardown(() => watcher.close())
  await watcher.start()
  return { dir: dirname(file), file, calls, watcher }
}

/** Polls, as waitForCalls does: the watchers do not keep the process alive (persistent: false). */
async function waitFor (what: string, ready: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!ready()) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs}ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * A watcher one of whose node:fs/promises calls (`name`, on `path`) can be held once armed: the call runs to its
 * end (so it sees the file system of that moment) but its outcome is handed over only on release. A test can so
 * change the file, or close the watcher, in the middle of a check, a few microseconds no test could aim at otherwise.
 */
async function heldCall (t: Test, file: string, name: 'readFile' | 'stat', path: string): Promise<Watched & { hold (): void; held (): Promise<void>; release (): void }> {
  const fsp = await import('node:fs/promises')
  let armed = false
  let release: (() => void) | undefined
  const real = fsp[name] as (...args: unknown[]) => Promise<unknown>
  const wrapped = async (...args: unknown[]): Promise<unknown> => {
    if (!armed || args[0] !== path) return real(...args)
    armed = false
    const outcome = await real(...args).then((value) => ({ value }), (error: unknown) => ({ error }))
    await new Promise<void>((resolve) => { release = resolve })
    if ('error' in outcome) throw outcome.error
    return outcome.value
  }
  const w = await watchWith(t, file, { 'node:fs/promises': { ...fsp, [name]: wrapped } })
  return {
    ...w,
    hold: () => { armed = true },
    held: () => waitFor(`a held ${name}`, () => release !== undefined),
    release: () => { release?.(); release = undefined },
  }
}

t.test('a change made while a check reads the file is checked after it', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'v1\n')
  const w = await heldCall(t, file, 'readFile', file)
  w.hold()
  writeFileSync(w.file, 'v2\n')
  await w.held()
  writeFileSync(w.file, 'v3\n')
  await quiet()
  t.equal(w.calls.length, 0, 'nothing while the first check reads')
  w.release()
  await waitForCalls(w, 2)
  await quiet()
  t.equal(w.calls.length, 2, 'the change the first check read, then the one made during it')
  writeFileSync(w.file, 'v2\n')
  await waitForCalls(w, 3)
  t.pass('going back to the content the first check read fires too')
})

t.test('close() during a check: the check ends without firing', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'v1\n')
  const w = await heldCall(t, file, 'readFile', file)
  w.hold()
  writeFileSync(w.file, 'v2\n')
  await w.held()
  w.watcher.close()
  w.release()
  await quiet()
  t.equal(w.calls.length, 0)
})

// The watcher looks for the directory only when a check runs; a directory back between that look and the moment
// its ancestor is watched (a remount that is quick) sends that ancestor no event: the check itself must see it.
t.test('a directory back before its ancestor is watched is watched again', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'conf')
  mkdirSync(dir)
  writeFileSync(join(dir, 'routes.config.ts'), 'v1\n')
  const w = await heldCall(t, join(dir, 'routes.config.ts'), 'stat', dir)
  w.hold()
  rmSync(dir, { recursive: true })
  await w.held()
  mkdirSync(dir)
  writeFileSync(w.file, 'v2\n')
  w.release()
  await waitForCalls(w, 1)
  writeFileSync(w.file, 'v3\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2)
})

t.test("a link target's directory back before its ancestor is watched is watched again", async (t) => {
  // etc/routes.config.ts -> ../srv/a/c.ts: srv/a removed, the check chooses srv to see it come back; it comes back
  // (with the file) while that check looks at srv, before srv's watch is there to see it
  const root = await tempDir(t)
  mkdirSync(join(root, 'etc'))
  mkdirSync(join(root, 'srv', 'a'), { recursive: true })
  writeFileSync(join(root, 'srv', 'a', 'c.ts'), 'v1\n')
  symlinkSync('../srv/a/c.ts', join(root, 'etc', 'routes.config.ts'))
  const w = await heldCall(t, join(root, 'etc', 'routes.config.ts'), 'stat', join(root, 'srv'))
  w.hold()
  rmSync(join(root, 'srv', 'a'), { recursive: true })
  await w.held()
  mkdirSync(join(root, 'srv', 'a'))
  writeFileSync(join(root, 'srv', 'a', 'c.ts'), 'v2\n')
  w.release()
  await waitForCalls(w, 1)
  await quiet()
  writeFileSync(join(root, 'srv', 'a', 'c.ts'), 'v3\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2, 'the in-place edit after it came back is seen')
})

// Some file systems give no birth time, and a directory made again at once often gets the inode number of the one
// removed: its identity is then the same, and only the removal event the old watcher saw tells it is another.
t.test('a directory made again with the same identity is watched again', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'conf')
  mkdirSync(dir)
  writeFileSync(join(dir, 'routes.config.ts'), 'v1\n')
  const fsp = await import('node:fs/promises')
  const stat = (async (path: string, options?: object) => {
    const info = await fsp.stat(path, options as { bigint: true })
    return path === dir ? Object.assign(Object.create(Object.getPrototypeOf(info)), info, { dev: 1n, ino: 2n, birthtimeNs: 0n }) : info
  }) as typeof fsp.stat
  const w = await watchWith(t, join(dir, 'routes.config.ts'), { 'node:fs/promises': { ...fsp, stat } })
  rmSync(dir, { recursive: true })
  mkdirSync(dir)
  writeFileSync(w.file, 'v2\n')
  await waitForCalls(w, 1)
  await quiet()
  writeFileSync(w.file, 'v3\n')
  await waitForCalls(w, 2)
  t.equal(w.calls.length, 2)
})

// A watcher that fails (on some systems when its directory goes away) is dropped and the directory watched anew.
t.test('a watcher that reports an error is replaced by a new one', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'v1\n')
  const fs = await import('node:fs')
  const opened: FSWatcher[] = []
  const watch = ((...args: Parameters<typeof fs.watch>) => {
    const watcher = fs.watch(...args)
    opened.push(watcher)
    return watcher
  }) as typeof fs.watch
  const w = await watchWith(t, file, { 'node:fs': { ...fs, watch } })
  t.equal(opened.length, 1)
  opened[0]!.emit('error', Object.assign(new Error('watcher failed'), { code: 'ENOENT' }))
  await waitFor('a new watcher', () => opened.length === 2)
  writeFileSync(file, 'v2\n')
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

// A volume remounted badly can leave a file where the config's directory was: the file's path is then as missing
// as when the directory is gone (ENOTDIR, not ENOENT), no error for the log each check, and watched once it is back.
t.test("a file in place of the config's directory is a missing config, not an error", async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'conf')
  mkdirSync(dir)
  writeFileSync(join(dir, 'routes.config.ts'), 'v1\n')
  const w = await watchFile(t, dir, join(dir, 'routes.config.ts'))
  rmSync(dir, { recursive: true })
  writeFileSync(dir, 'not a directory\n')
  await quiet()
  t.equal(w.calls.length, 0, 'nothing, and no error, while a file is in the way')
  unlinkSync(dir)
  mkdirSync(dir)
  writeFileSync(w.file, 'v2\n')
  await waitForCalls(w, 1)
  t.equal(w.calls.length, 1)
})

// The CLI closes the watcher when the gateway stops while the watcher still starts: no directory stays watched.
t.test('close() while start() runs leaves no watcher open', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'routes.config.ts')
  writeFileSync(file, 'v1\n')
  const fs = await import('node:fs')
  const open = new Set<FSWatcher>()
  const watch = ((...args: Parameters<typeof fs.watch>) => {
    const watcher = fs.watch(...args)
    open.add(watcher)
    watcher.on('close', () => open.delete(watcher))
    return watcher
  }) as typeof fs.watch
  const { ConfigWatcher: Mocked } = await t.mockImport<typeof import('../../src/config/watch.ts')>('../../src/config/watch.ts', { 'node:fs': { ...fs, watch } })
  const watcher = new Mocked(file, () => t.fail('no change'), { debounceMs: DEBOUNCE_MS, onError: (err) => t.error(err, 'the watcher reports no error') })
  t.teardown(() => watcher.close())
  const started = watcher.start()
  watcher.close()
  await started
  t.equal(open.size, 0)
})
