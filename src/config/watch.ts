// Tells when a config file's content may have changed, however it was replaced:
// in-place writes, an editor's write-temp-then-rename, and the Kubernetes ConfigMap update, which swaps a
// `..data` symlink so the file's path resolves to a new inode in a new directory.
// Watching the file itself loses track after a rename or a swap, so the watcher watches directories and
// compares a sha256 of the bytes (symlinks followed), and fires only when that hash really changed.
import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { readFile, realpath } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'

export interface ConfigWatcherOptions {
  /** Quiet time after the last file-system event before the file is read; editors and kubelet write in bursts. */
  debounceMs?: number
  /** Errors from the file-system watchers and from onChange; the watcher keeps going. Default: ignored. */
  onError?: (err: unknown) => void
}

export class ConfigWatcher {
  readonly #file: string
  readonly #onChange: () => void
  readonly #debounceMs: number
  readonly #onError: (err: unknown) => void
  /** Watched directories: the file's own, plus the directory it really lives in when a symlink leads elsewhere. */
  readonly #watchers = new Map<string, FSWatcher>()
  #timer: NodeJS.Timeout | undefined
  /** Hash of the last content seen; a missing file leaves it as it was, so a file that comes back unchanged is silent. */
  #lastHash: string | undefined
  #checking = false
  #checkAgain = false
  #closed = false

  constructor (file: string, onChange: () => void, options: ConfigWatcherOptions = {}) {
    this.#file = resolve(file)
    this.#onChange = onChange
    this.#debounceMs = options.debounceMs ?? 200
    this.#onError = options.onError ?? (() => {})
  }

  /** Starts watching; resolves once the current content is known, so later changes compare against it. */
  async start (): Promise<void> {
    // watch before reading: a change that lands in between is then either in the baseline or seen as an event
    this.#watchDirectory(dirname(this.#file))
    this.#lastHash = await this.#hashFile()
    await this.#followSymlink()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
  }

  // Any event in a watched directory may concern the file (under a ConfigMap the events name `..data`,
  // never the file), so every event schedules a check and the hash decides.
  #schedule (): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { void this.#check() }, this.#debounceMs)
  }

  async #check (): Promise<void> {
    this.#timer = undefined
    if (this.#checking) {
      this.#checkAgain = true
      return
    }
    this.#checking = true
    try {
      const hash = await this.#hashFile()
      // the own directory can vanish and return (a volume remount): watch it again once it is back
      this.#watchDirectory(dirname(this.#file))
      await this.#followSymlink()
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

  /** sha256 of the bytes behind the path, or undefined while there is no file there. */
  async #hashFile (): Promise<string | undefined> {
    try {
      return createHash('sha256').update(await readFile(this.#file)).digest('hex')
    } catch (err) {
      if (!isMissing(err)) this.#onError(err)
      return undefined
    }
  }

  // A symlink to a file elsewhere (not the ConfigMap layout, whose real directory sits inside the watched one)
  // is written in place there: watch that directory too, and drop it once the link leads somewhere else.
  async #followSymlink (): Promise<void> {
    const own = dirname(this.#file)
    let real: string | undefined
    try {
      real = dirname(await realpath(this.#file))
    } catch (err) {
      if (!isMissing(err)) this.#onError(err)
    }
    const elsewhere = real !== undefined && real !== own && !real.startsWith(own + sep) ? real : undefined
    for (const [dir, w] of this.#watchers) {
      if (dir !== own && dir !== elsewhere) {
        w.close()
        this.#watchers.delete(dir)
      }
    }
    if (elsewhere !== undefined) this.#watchDirectory(elsewhere)
  }

  #watchDirectory (dir: string): void {
    if (this.#closed || this.#watchers.has(dir)) return
    let watcher: FSWatcher
    try {
      watcher = watch(dir, { persistent: false }, () => this.#schedule())
    } catch (err) {
      if (!isMissing(err)) this.#onError(err)
      return
    }
    watcher.on('error', (err) => {
      // typically the directory itself went away: forget this watcher, and the next check may watch it again
      watcher.close()
      if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir)
      if (!isMissing(err)) this.#onError(err)
      this.#schedule()
    })
    this.#watchers.set(dir, watcher)
  }
}

function isMissing (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}
