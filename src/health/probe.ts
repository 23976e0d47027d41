// One health probe's exchange, as an undici dispatch handler: the status, and the replication lag a replica reports
// (its header, else replicationLagMs in a small JSON body); every other body is read and dropped as it arrives.
// Probes of every target run every few seconds and all at once at start-up, so there is no body stream, no
// AbortSignal and no promise per chunk, as undici's request() would make.
// Once the status has arrived in time it is the verdict: a body that then fails, stalls past the deadline or runs
// past MAX_DROPPED_BODY ends the exchange (the connection is given up) but not the answer. A lag body cut short that
// way leaves the lag unknown (lagUnknown), which is not the same as a complete answer that reports none.
import type { Dispatcher } from 'undici'

/** A replica's lag, as its health check may report it. */
export const LAG_HEADER = 'x-replication-lag-ms'
const MAX_LAG_BODY = 64 * 1024
/** A body read only to be dropped is cut after this much (as undici's body.dump() does). */
const MAX_DROPPED_BODY = 128 * 1024
const BODY_TOO_LONG = new Error('health probe body dropped past its limit')

export interface ProbeAnswer {
  readonly status: number
  readonly lagMs?: number
  /** The JSON body the lag was to be read from did not arrive whole: nothing is known of the lag. */
  readonly lagUnknown?: true
}

export class ProbeExchange implements Dispatcher.DispatchHandler {
  /** Settles once: the answer, or the error that ended the probe (the abort reason when aborted). */
  readonly answer: Promise<ProbeAnswer>
  #resolve!: (answer: ProbeAnswer) => void
  #reject!: (err: Error) => void
  #settled = false
  #aborted = false
  /** Set when the request is to be aborted once it starts (the checker stopped while it waited for a connection). */
  #abortQueued: Error | undefined
  #controller: Dispatcher.DispatchController | undefined
  /** 0 until the status line and headers arrived. */
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

  /**
   * Ends the probe now: with `reason`, or with the status if it has arrived. A request still waiting for its
   * connection is sent when it gets one and its answer dropped, so a late connection stays for the next probe
   * (undici's queued-request abort is not public); `andQueued` (the checker stopped) aborts it then instead.
   */
  abort (reason: Error, andQueued = false): void {
    if (this.#settled) return
    this.#aborted = true
    if (andQueued) this.#abortQueued = reason
    this.#controller?.abort(reason)
    this.#settle(reason)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#abortQueued !== undefined) controller.abort(this.#abortQueued)
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode
    const header = headers[LAG_HEADER]
    this.#lagMs = parseLag(Array.isArray(header) ? header[0] : header)
    const declared = headers['content-length']
    const length = declared === undefined ? undefined : Number(declared)
    // a body without a length (chunked) is read too, and dropped once it runs past MAX_LAG_BODY
    if (this.#lagMs === undefined && String(headers['content-type'] ?? '').includes('json') && (length === undefined || length <= MAX_LAG_BODY)) this.#body = []
    else if (length !== undefined && length > MAX_DROPPED_BODY) this.#cut()
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bodyBytes += chunk.length
    if (this.#body === undefined) {
      if (this.#bodyBytes > MAX_DROPPED_BODY) this.#cut()
      return
    }
    // too long to be a lag report (a chunked body, or more than its content-length said): dropped
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

  /** Stops reading a body too long to drop: the answer stands, the connection is given up. */
  #cut (): void {
    this.#settle(undefined)
    this.#controller?.abort(BODY_TOO_LONG)
  }

  #settle (err: Error | undefined): void {
    if (this.#settled) return
    this.#settled = true
    // a lag body still being read when the exchange ended (an error, the deadline): its lag is unknown
    const lagUnknown = err !== undefined && this.#body !== undefined
    this.#body = undefined
    // an error before the status is the probe's failure; after it, only the end of a body nobody needed
    if (err !== undefined && this.#status === 0) this.#reject(err)
    else if (this.#lagMs !== undefined) this.#resolve({ status: this.#status, lagMs: this.#lagMs })
    else this.#resolve(lagUnknown ? { status: this.#status, lagUnknown } : { status: this.#status })
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

/** A plain non-negative number of milliseconds, any size the same number in a JSON body may have (an epoch's 13 digits too). */
function parseLag (value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined
  const lag = Number(value.trim())
  return Number.isFinite(lag) ? lag : undefined
}
