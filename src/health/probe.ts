// One health probe's exchange, as an undici dispatch handler: the status, and the replication lag a replica reports
// (its header, else replicationLagMs in a small JSON body); every other body is read and dropped as it arrives.
// Probes of every target run every few seconds and all at once at start-up, so there is no body stream, no
// AbortSignal and no promise per chunk, as undici's request() would make.
import type { Dispatcher } from 'undici'

/** A replica's lag, as its health check may report it. */
export const LAG_HEADER = 'x-replication-lag-ms'
const MAX_LAG_BODY = 64 * 1024

export interface ProbeAnswer {
  readonly status: number
  readonly lagMs?: number
}

export class ProbeExchange implements Dispatcher.DispatchHandler {
  /** Settles once: the answer, or the error that ended the probe (the abort reason when aborted). */
  readonly answer: Promise<ProbeAnswer>
  #resolve!: (answer: ProbeAnswer) => void
  #reject!: (err: Error) => void
  #settled = false
  #aborted = false
  #controller: Dispatcher.DispatchController | undefined
  #status = 0
  #lagMs: number | undefined
  /** A small JSON body's chunks, kept to read the lag from; undefined when the body is only dropped. */
  #body: Buffer[] | undefined
  #bodyBytes = 0

  constructor () {
    this.answer = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  /** True once abort() was called: the probe ended on the gateway's side. */
  get aborted (): boolean { return this.#aborted }

  /** Ends the probe now, with `reason`; a request still waiting for its connection is aborted once it gets one. */
  abort (reason: Error): void {
    if (this.#settled) return
    this.#aborted = true
    this.#controller?.abort(reason)
    this.#settle(reason)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#aborted) controller.abort(new Error('probe aborted'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode
    const header = headers[LAG_HEADER]
    this.#lagMs = parseLag(Array.isArray(header) ? header[0] : header)
    const length = Number(headers['content-length'] ?? Infinity)
    if (this.#lagMs === undefined && String(headers['content-type'] ?? '').includes('json') && length <= MAX_LAG_BODY) this.#body = []
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#body === undefined) return
    this.#bodyBytes += chunk.length
    // more than its content-length said (a broken answer): dropped
    if (this.#bodyBytes > MAX_LAG_BODY) this.#body = undefined
    else this.#body.push(chunk)
  }

  onResponseEnd (): void {
    if (this.#body !== undefined) this.#lagMs = lagFromJson(Buffer.concat(this.#body).toString('utf8'))
    this.#settle(undefined)
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#settle(err)
  }

  #settle (err: Error | undefined): void {
    if (this.#settled) return
    this.#settled = true
    this.#body = undefined
    if (err !== undefined) this.#reject(err)
    else this.#resolve(this.#lagMs !== undefined ? { status: this.#status, lagMs: this.#lagMs } : { status: this.#status })
  }
}

function lagFromJson (text: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as { replicationLagMs?: unknown }).replicationLagMs : undefined
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
  } catch {
    return undefined
  }
}

function parseLag (value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,12}(\.\d+)?$/.test(value.trim())) return undefined
  return Number(value.trim())
}
