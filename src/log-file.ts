// Where the gateway's JSON lines go when they go to a file descriptor (stdout, stderr or a file): a batch buffer
// written with one write() per `batchBytes`. A line costs a copy into the buffer, never an allocation or a
// syscall of its own (sonic-boom, pino's default, re-measures its whole pending string on every line).
// Writes are synchronous, as pino's default destination's are: what has been logged is on its way to the kernel
// before exit, whatever ends the process.
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

// a write to a file costs ~50 µs whatever its size up to here (measured under load: ~1 µs per request at 16 KiB)
const DEFAULT_BATCH = 64 * 1024
const EAGAIN_WAIT_MS = 1

export interface LogFileOptions {
  /** A batch is written once it holds this many bytes (default 64 KiB). */
  batchBytes?: number
  /** A partial batch is written this long after its first line at the latest (default 100 ms; 0: no timer). */
  flushMs?: number
  /** Called when writes start failing (not again until one has succeeded since). */
  onFailure?: (err: NodeJS.ErrnoException) => void
}

export class LogFile {
  #fd: number
  /** The file this opened (and reopen() opens again); undefined for a descriptor it was given. */
  readonly #path: string | undefined
  readonly #batchBytes: number
  #buf: Buffer
  #len = 0
  #timer: NodeJS.Timeout | undefined
  readonly #onFailure: ((err: NodeJS.ErrnoException) => void) | undefined
  #failing = false
  /** end() was called: nothing is opened again. */
  #ended = false
  /** Bytes dropped because the destination refused them (a full disk, a closed pipe). */
  droppedBytes = 0
  readonly #onExit = (): void => this.flushSync()

  constructor (dest: number | string, options: LogFileOptions = {}) {
    if (typeof dest === 'number') {
      this.#fd = dest
      this.#path = undefined
    } else {
      this.#fd = openFile(dest)
      this.#path = dest
    }
    this.#batchBytes = options.batchBytes ?? DEFAULT_BATCH
    this.#onFailure = options.onFailure
    // room for a full batch plus the line that crosses it
    this.#buf = Buffer.allocUnsafe(Math.max(this.#batchBytes * 2, 64 * 1024))
    const flushMs = options.flushMs ?? 100
    if (flushMs > 0) {
      this.#timer = setInterval(() => this.flushSync(), flushMs)
      this.#timer.unref()
    }
    process.once('exit', this.#onExit)
  }

  /** pino's DestinationStream: one formatted line (or several) at a time. */
  write (line: string): boolean {
    // utf-8 takes at most 3 bytes per UTF-16 unit: check room before copying so a line is never split
    if (this.#len + line.length * 3 > this.#buf.length) {
      this.flushSync()
      if (line.length * 3 > this.#buf.length) {
        this.#writeAll(Buffer.from(line))
        return true
      }
    }
    this.#len += this.#buf.write(line, this.#len)
    if (this.#len >= this.#batchBytes) this.flushSync()
    return true
  }

  /** Writes out what is buffered now (pino's logger.flush() calls it). */
  flush (callback?: (err?: Error) => void): void {
    this.flushSync()
    callback?.()
  }

  flushSync (): void {
    if (this.#len === 0) return
    const len = this.#len
    this.#len = 0
    this.#writeAll(this.#buf.subarray(0, len))
  }

  /**
   * Opens the file again by its path (logrotate moved it away and created a new one, or removed it): what is
   * buffered goes to the old file first, every later line to the new one. Lines are written synchronously, so none is
   * lost or written twice across the swap. A descriptor it was given (stdout, stderr) is left as it is. Throws if the
   * path cannot be opened; the old file is then kept.
   */
  reopen (): void {
    if (this.#path === undefined || this.#ended) return
    this.flushSync()
    const fd = openFile(this.#path)
    const old = this.#fd
    this.#fd = fd
    closeSync(old)
  }

  /** Writes what is buffered and stops the timer; the descriptor is closed if this opened it. */
  end (): void {
    this.#ended = true
    this.flushSync()
    clearInterval(this.#timer)
    process.off('exit', this.#onExit)
    if (this.#path !== undefined) closeSync(this.#fd)
  }

  #writeAll (bytes: Buffer): void {
    let offset = 0
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.#fd, bytes, offset, bytes.length - offset)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // a non-blocking pipe whose reader is behind: wait for it rather than lose lines
        if (code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, EAGAIN_WAIT_MS)
          continue
        }
        // A full disk or a closed pipe must not take the traffic down with it (this runs in a timer, or inside
        // a request's log call): the batch is dropped and counted, and the next one tries again.
        this.droppedBytes += bytes.length - offset
        if (!this.#failing) {
          this.#failing = true
          this.#onFailure?.(err as NodeJS.ErrnoException)
        }
        return
      }
    }
    this.#failing = false
  }
}

/** Opens a log file for appending, making its directories first (as at start, so after a rotation too). */
function openFile (path: string): number {
  makeParents(dirname(path))
  return openSync(path, 'a')
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdirSync never returns for a path under /proc (each level it
 * creates reports ENOENT, and it tries again), so a log destination there would hang the start instead of failing.
 */
function makeParents (dir: string): void {
  if (existsSync(dir)) {
    // a file where a directory should be: named as the path at fault, as mkdir -p does, not as the log file's open
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: dir })
    return
  }
  const parent = dirname(dir)
  if (parent !== dir) makeParents(parent)
  try {
    mkdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // made meanwhile: what was asked for
  }
}
