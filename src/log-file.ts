// Where the gateway's JSON lines go when they go to a file descriptor (stdout, stderr or a file): a batch buffer
// written with one write() per `batchBytes`. A line costs a copy into the buffer, never an allocation or a
// syscall of its own (sonic-boom, pino's default, re-measures its whole pending string on every line).
// Writes are synchronous, but lines wait in the buffer up to `flushMs` (100 ms) first: an exit the process sees (a
// graceful one, an uncaught exception, SIGTERM) writes them out from the 'exit' hook, but SIGKILL or the OOM killer
// loses what is still buffered, at most `flushMs` of lines: the price of one write per batch instead of one per line.
// A destination must never stop the event loop (a stalled log shipper would take the traffic, /healthz and SIGTERM
// down with it): pipes are written non-blocking, and what they cannot take within a few ms is dropped and counted.
import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

// a write to a file costs ~50 µs whatever its size up to here (measured under load: ~1 µs per request at 16 KiB)
const DEFAULT_BATCH = 64 * 1024
/** How long one batch may wait for a full pipe, in 1 ms steps, before the rest of it is dropped. */
const EAGAIN_BUDGET_MS = 5
const waitCell = new Int32Array(new SharedArrayBuffer(4))
const LF = 0x0a
const NEWLINE = Buffer.from('\n')

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
  /** #fd is this one's to close: a file it opened, or its own non-blocking description of a pipe it was given. */
  readonly #ownsFd: boolean
  readonly #batchBytes: number
  #buf: Buffer
  #len = 0
  #timer: NodeJS.Timeout | undefined
  readonly #onFailure: ((err: NodeJS.ErrnoException) => void) | undefined
  #failing = false
  /** A full pipe made a batch drop: until a batch goes through whole, each one is tried once, without waiting. */
  #stalled = false
  /** A failed write left the destination inside a cut line: the next write starts with '\n', so later lines parse. */
  #midLine = false
  /** end() was called: nothing is opened again. */
  #ended = false
  /** Bytes dropped because the destination refused them (a full disk, a closed or stalled pipe). */
  droppedBytes = 0
  readonly #onExit = (): void => this.flushSync()

  constructor (dest: number | string, options: LogFileOptions = {}) {
    if (typeof dest === 'number') {
      const own = nonBlockingPipe(dest)
      this.#fd = own ?? dest
      this.#ownsFd = own !== undefined
      this.#path = undefined
    } else {
      this.#fd = openFile(dest)
      this.#ownsFd = true
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
    // a new file starts on a line of its own; the same one (a reopen without a rotation) may still end mid-line
    if (!sameFile(old, fd)) this.#midLine = false
    this.#fd = fd
    closeSync(old)
  }

  /** Writes what is buffered and stops the timer; the descriptor is closed if this opened it. */
  end (): void {
    this.#ended = true
    this.flushSync()
    clearInterval(this.#timer)
    process.off('exit', this.#onExit)
    if (this.#ownsFd) closeSync(this.#fd)
  }

  #writeAll (bytes: Buffer): void {
    let offset = 0
    let waitedMs = 0
    while (offset < bytes.length) {
      try {
        if (this.#midLine) {
          writeSync(this.#fd, NEWLINE)
          this.#midLine = false
        } else {
          offset += writeSync(this.#fd, bytes, offset, bytes.length - offset)
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // a pipe whose reader is behind: wait a little for it, never long (the loop serves the traffic and /healthz)
        if (code === 'EAGAIN' && !this.#stalled && waitedMs < EAGAIN_BUDGET_MS) {
          Atomics.wait(waitCell, 0, 0, 1)
          waitedMs++
          continue
        }
        // A full disk, a closed pipe or a stalled reader must not take the traffic down with it (this runs in a timer,
        // or inside a request's log call): the rest of the batch is dropped and counted, and the next one tries again.
        if (code === 'EAGAIN') this.#stalled = true
        if (offset > 0 && bytes[offset - 1] !== LF) this.#midLine = true
        this.droppedBytes += bytes.length - offset
        if (!this.#failing) {
          this.#failing = true
          this.#onFailure?.(err as NodeJS.ErrnoException)
        }
        return
      }
    }
    this.#failing = false
    this.#stalled = false
  }
}

/**
 * A non-blocking open file description of the pipe or FIFO `fd` is (O_NONBLOCK on it alone: whoever else shares fd's
 * description, such as the shell that made stdout, keeps it as it was), or undefined: not a pipe, no /proc, no reader
 * left, or a socket (which /proc cannot open: written as given).
 */
function nonBlockingPipe (fd: number): number | undefined {
  try {
    const stats = fstatSync(fd)
    if (!stats.isFIFO() && !stats.isSocket()) return undefined
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK)
  } catch {
    return undefined
  }
}

function sameFile (a: number, b: number): boolean {
  try {
    const sa = fstatSync(a)
    const sb = fstatSync(b)
    return sa.dev === sb.dev && sa.ino === sb.ino
  } catch {
    return false
  }
}

/**
 * Opens a log file for appending, making its directories first (as at start, so after a rotation too). Non-blocking:
 * a FIFO with no reader fails at once with ENXIO instead of hanging the start (or a SIGUSR2 reopen), and a FIFO's
 * stalled reader is dropped for as a pipe's is; regular files ignore the flag.
 */
function openFile (path: string): number {
  makeParents(dirname(path))
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK, 0o666)
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
