// Tells when a config file's content may have changed, however it was replaced:
// in-place writes, an editor's write-temp-then-rename, and the Kubernetes ConfigMap update, which swaps a
// `..data` symlink so the file's path resolves to a new inode in a new directory.
// Watching the file itself loses track after a rename or a swap, so the watcher watches directories and
// compares a sha256 of the bytes (symlinks followed), and fires only when that hash really changed.
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { lstat, readFile, readlink, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path'

export interface ConfigWatcherOptions {
  /** Quiet time after the last file-system event before the file is read; editors and kubelet write in bursts. */
  debounceMs?: number
  /**
   * First wait before the file is read again after a read error other than its absence (out of file descriptors,
   * an I/O error); doubled at each failure in a row, up to MAX_RETRY_MS. Default 500.
   */
  retryMs?: number
  /**
   * Errors from the file-system watchers and from onChange; the watcher keeps going. Of read errors in a row, only
   * the first. Default: ignored.
   */
  onError?: (err: unknown) => void
  /** Called once the file reads again (or is gone) after read errors. Default: nothing. */
  onRecover?: () => void
}

/** The longest wait between two reads of a file that fails to read. */
const MAX_RETRY_MS = 5000

export class ConfigWatcher {
  readonly #file: string
  readonly #onChange: () => void
  readonly #debounceMs: number
  readonly #onError: (err: unknown) => void
  readonly #onRecover: () => void
  readonly #retryMs: number
  /**
   * Watched directories: the file's own (or, while it is gone, the nearest ancestor that is there), plus the
   * directory the file really lives in when a symlink leads elsewhere; each with the identity it had when watched.
   */
  readonly #watchers = new Map<string, { watcher: FSWatcher; id: string }>()
  #timer: NodeJS.Timeout | undefined
  /** Hash of the last content seen; a missing file leaves it as it was, so a file that comes back unchanged is silent. */
  #lastHash: string | undefined
  #checking = false
  #checkAgain = false
  #closed = false
  /** Read errors in a row (the file's absence is none). */
  #failures = 0

  constructor (file: string, onChange: () => void, options: ConfigWatcherOptions = {}) {
    this.#file = resolve(file)
    this.#onChange = onChange
    this.#debounceMs = options.debounceMs ?? 200
    this.#onError = options.onError ?? (() => {})
    this.#onRecover = options.onRecover ?? (() => {})
    this.#retryMs = options.retryMs ?? 500
  }

  /** Starts watching; resolves once the current content is known, so later changes compare against it. */
  async start (): Promise<void> {
    // watch before reading: a change that lands in between is then either in the baseline or seen as an event
    await this.#updateWatchers()
    this.#lastHash = await this.#hashFile()
  }

  /**
   * A reload this watcher did not start (POST /reload, SIGHUP) ran the file's bytes of this sha256: later reads
   * compare with them, and the file is read again, since it may have changed after that reload read it. Compared
   * with the watcher's own last read, a file put back to those bytes after another reload ran was never reported.
   */
  loaded (hash: string): void {
    this.#lastHash = hash
    this.#schedule()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const w of this.#watchers.values()) w.watcher.close()
    this.#watchers.clear()
  }

  // Any event in a watched directory may concern the file (under a ConfigMap the events name `..data`,
  // never the file), so every event schedules a check and the hash decides.
  #schedule (delayMs = this.#debounceMs): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { void this.#check() }, delayMs)
  }

  async #check (): Promise<void> {
    this.#timer = undefined
    if (this.#checking) {
      this.#checkAgain = true
      return
    }
    this.#checking = true
    try {
      await this.#updateWatchers()
      const hash = await this.#hashFile()
      if (this.#closed || hash === undefined || hash === this.#lastHash) return
      this.#lastHash = hash
      try {
        this.#onChange()
      } catch (err) {
        this.#onError(err)
      }
    } finally {
      this.#checking = false
      if (this.#checkAgain) {
        this.#checkAgain = false
        this.#schedule()
      }
    }
  }

  /** sha256 of the bytes behind the path, or undefined while there is no file there or it could not be read. */
  async #hashFile (): Promise<string | undefined> {
    let bytes: Buffer
    try {
      bytes = await readFile(this.#file)
    } catch (err) {
      if (isMissing(err)) this.#recovered()
      else this.#readFailed(err)
      return undefined
    }
    this.#recovered()
    return createHash('sha256').update(bytes).digest('hex')
  }

  // A read that failed for another reason than the file's absence (out of file descriptors, an I/O error) says
  // nothing of the content, and no event may come to look again: the file is read again, less and less often, until
  // a read succeeds. Only the first failure of a run is reported: an outage is one log line, not one per retry.
  #readFailed (err: unknown): void {
    if (this.#failures++ === 0) this.#onError(err)
    this.#schedule(Math.min(this.#retryMs * 2 ** Math.min(this.#failures - 1, 16), MAX_RETRY_MS))
  }

  #recovered (): void {
    if (this.#failures === 0) return
    this.#failures = 0
    this.#onRecover()
  }

  // Watches what should be watched now, closes the rest. The own directory can vanish and return (a volume
  // remount, a directory removed and made again): on Linux the old watcher then reports one event and no error
  // and stays open on the dead inode, so a directory is watched again whenever its identity changed, and while it
  // is gone its nearest existing ancestor is watched, to see it come back.
  async #updateWatchers (): Promise<void> {
    const own = dirname(this.#file)
    const wanted = new Map<string, string>()
    // what should be watched but is gone: its nearest existing ancestor is watched instead, to see it come back
    const gone: string[] = []
    try {
      for (const dir of [own, ...await this.#linkDirectories(own)]) {
        const [watched, id] = await nearestDirectory(dir)
        if (watched !== dir) gone.push(dir)
        if (id !== undefined) wanted.set(watched, id)
      }
    } catch (err) {
      this.#onError(err)
      return
    }
    // no await in these loops: concurrent updates cannot both open a watcher for one directory
    for (const [dir, w] of this.#watchers) {
      if (wanted.get(dir) !== w.id) {
        w.watcher.close()
        this.#watchers.delete(dir)
      }
    }
    for (const [dir, id] of wanted) if (!this.#watchers.has(dir)) this.#watchDirectory(dir, id)
    // a directory that was gone may have come back before its ancestor's watcher was there to see it
    for (const dir of gone) if (await directoryId(dir).catch(() => undefined) !== undefined) return this.#schedule()
  }

  // Where the file can change besides the own directory: through a symlink, the file is written in place in its
  // real directory, and each link on the way (a link in another directory, a ConfigMap's `..data` mounted elsewhere,
  // any link of a chain) can be pointed elsewhere in the directory that holds it. Each of those is watched too,
  // until the links lead somewhere else. (In the ConfigMap layout beside the config, that adds the current
  // `..data` version, whose files are never edited but cost one watch.)
  async #linkDirectories (own: string): Promise<Set<string>> {
    const directories = new Set<string>()
    try {
      directories.add(dirname(await walkLinks(this.#file, directories)))
    } catch (err) {
      if (!isMissing(err)) this.#onError(err)
    }
    directories.delete(own)
    return directories
  }

  #watchDirectory (dir: string, id: string): void {
    if (this.#closed) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => {
        // Linux names the directory itself when it is removed: the next check watches it (or its ancestor) anew
        const entry = this.#watchers.get(dir)
        if (name === basename(dir) && entry?.watcher === watcher) entry.id = 'gone'
        this.#schedule()
      })
    } catch (err) {
      if (!isMissing(err)) this.#onError(err)
      return
    }
    watcher.on('error', (err) => {
      // typically the directory itself went away: forget this watcher, and the next check may watch it again
      watcher.close()
      if (this.#watchers.get(dir)?.watcher === watcher) this.#watchers.delete(dir)
      if (!isMissing(err)) this.#onError(err)
      this.#schedule()
    })
    this.#watchers.set(dir, { watcher, id })
  }
}

/** Symlinks followed on the way to the file at most, as Linux's own path lookup (ELOOP past 40). */
const MAX_LINKS = 40

/**
 * The real path of an absolute `path`, resolved one part at a time as the kernel does ('..' after a link goes up from
 * where the link led), adding to `directories` the real directory that holds each symlink on the way. A missing part
 * ends the walk there (the rest of the path is returned as it is written, so its directory is the one to watch for).
 */
async function walkLinks (path: string, directories: Set<string>): Promise<string> {
  const parts = path.split(sep)
  let real: string = sep
  let links = 0
  for (let part = parts.shift(); part !== undefined; part = parts.shift()) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      real = dirname(real)
      continue
    }
    const here = join(real, part)
    // not join(): folding '..' by text would skip the part the kernel stops at, and its parent is the directory to watch
    const stopped = (): string => [here, ...parts.filter((rest) => rest !== '' && rest !== '.')].join(sep)
    let info
    try {
      info = await lstat(here)
    } catch (err) {
      if (isMissing(err)) return stopped()
      throw err
    }
    if (!info.isSymbolicLink()) {
      // a file with more parts after it is the kernel's ENOTDIR: as missing, until a directory takes its place
      if (!info.isDirectory() && parts.some((rest) => rest !== '' && rest !== '.')) return stopped()
      real = here
      continue
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error(`ELOOP: too many symbolic links, '${path}'`), { code: 'ELOOP' })
    directories.add(real)
    const target = await readlink(here)
    if (isAbsolute(target)) real = sep
    parts.unshift(...target.split(sep))
  }
  return real
}

/** `dir` and its identity or, while it is gone, its nearest existing ancestor and that one's. */
async function nearestDirectory (dir: string): Promise<[string, string | undefined]> {
  let id = await directoryId(dir)
  while (id === undefined && dirname(dir) !== dir) id = await directoryId(dir = dirname(dir))
  return [dir, id]
}

/** What tells a directory from another made at the same path, or undefined while there is none. */
async function directoryId (dir: string): Promise<string | undefined> {
  try {
    // a new directory often gets the inode number of the one just removed (ext4): its birth time tells them apart
    const info = await stat(dir, { bigint: true })
    return info.isDirectory() ? `${info.dev}:${info.ino}:${info.birthtimeNs}` : undefined
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
}

function isMissing (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
