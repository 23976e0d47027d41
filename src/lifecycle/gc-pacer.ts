// Keeps RSS flat while large bodies stream through.
//
// A proxy's garbage is mostly off-heap: every socket read is a fresh 64 KiB buffer that dies as soon as it has
// been written on. Its memory is only freed when a scavenge collects the buffer's small on-heap wrapper, and
// scavenges are driven by on-heap allocation, which streaming hardly does; V8 instead lets ~64 MiB of dead
// buffers pile up before its external-memory limit forces a collection. The pacer watches the bytes held by
// array buffers and asks for a young-generation collection (cheap: a proxy's young objects are short-lived)
// once they have grown by `thresholdBytes`. Shrinking V8's young generation instead bounds memory too, but
// costs ~30% more instructions per small request (measured with bench/: more scavenges and promotions).
export interface GcPacerOptions {
  intervalMs?: number
  thresholdBytes?: number
  /** Injected for tests; defaults to the gc() that --expose-gc provides. */
  collect?: () => void
  arrayBuffers?: () => number
}

type ExposedGc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

export class GcPacer {
  readonly #intervalMs: number
  readonly #thresholdBytes: number
  readonly #collect: (() => void) | undefined
  readonly #arrayBuffers: () => number
  #timer: NodeJS.Timeout | undefined
  #baseline = 0
  collections = 0

  constructor (options: GcPacerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 20
    this.#thresholdBytes = options.thresholdBytes ?? 8 * 1024 * 1024
    const exposed = (globalThis as { gc?: ExposedGc }).gc
    this.#collect = options.collect ?? (exposed ? () => exposed({ type: 'minor' }) : undefined)
    this.#arrayBuffers = options.arrayBuffers ?? (() => process.memoryUsage().arrayBuffers)
  }

  /** False when the process runs without --expose-gc (the pacer then does nothing). */
  get enabled (): boolean { return this.#collect !== undefined }

  start (): void {
    if (this.#collect === undefined || this.#timer !== undefined) return
    this.#baseline = this.#arrayBuffers()
    this.#timer = setInterval(() => this.check(), this.#intervalMs)
    this.#timer.unref()
  }

  /** One look: collect if array buffers grew by the threshold since the last collection. */
  check (): void {
    const now = this.#arrayBuffers()
    if (now - this.#baseline < this.#thresholdBytes) {
      if (now < this.#baseline) this.#baseline = now
      return
    }
    this.#collect?.()
    this.collections++
    this.#baseline = this.#arrayBuffers()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
