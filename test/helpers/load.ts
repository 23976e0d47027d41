// A small, bounded load generator for the operations tests: N loops, each on its own kept-alive connection
// (node:http, one socket per loop), recording every answer or error with when it started and ended.
// It stops by itself after durationMs, or on stop(); nothing is retried, so every failure shows.
import { Agent, request } from 'node:http'

export interface LoadOptions {
  /** Origin, e.g. http://127.0.0.1:8080 */
  url: string
  /** Concurrent loops, each on its own kept-alive connection. */
  concurrency: number
  /** The bound: no request starts after this long. */
  durationMs: number
  /** Path of a loop's seq-th request (default '/'). */
  path?: (loop: number, seq: number) => string
  /** Extra headers for a loop's seq-th request. */
  headers?: (loop: number, seq: number) => Record<string, string>
  /** Pause after each answer, per loop: caps the rate at concurrency × 1000 / pauseMs. */
  pauseMs?: number
  /** Pause after an error, so a refused connection does not spin (default 20). */
  errorPauseMs?: number
  /** A request with no answer by then is recorded as error 'timeout' (default 10000). */
  timeoutMs?: number
}

export interface LoadRecord {
  /** The X-Request-Id sent (the gateway logs it as requestId). */
  id: string
  loop: number
  path: string
  /** Date.now() when the request was sent, and when its answer (or error) was complete. */
  startedAt: number
  endedAt: number
  status?: number
  /** Who answered: the test upstream's x-upstream header. */
  upstream?: string
  /** The gateway's error code, for its JSON error answers. */
  errorCode?: string
  /** The answer asked the client to close the connection. */
  connectionClose?: boolean
  /** A request that got no answer: the client-side error code (ECONNREFUSED, ECONNRESET, timeout, …). */
  error?: string
  /** Whether the request went out on a kept-alive socket that had carried a request before. */
  reusedSocket: boolean
}

let runs = 0

export class Load {
  readonly records: LoadRecord[] = []
  /** Resolves with every record once all loops have ended. */
  readonly done: Promise<LoadRecord[]>
  readonly #options: LoadOptions
  readonly #agents: Agent[] = []
  readonly #run = `load${++runs}-${process.pid}`
  #stopped = false
  readonly #deadline: number

  private constructor (options: LoadOptions) {
    this.#options = options
    this.#deadline = Date.now() + options.durationMs
    const loops = Array.from({ length: options.concurrency }, (_, i) => this.#loop(i))
    this.done = Promise.all(loops).then(() => {
      for (const agent of this.#agents) agent.destroy()
      return this.records
    })
  }

  static start (options: LoadOptions): Load {
    return new Load(options)
  }

  /** No request starts after this; resolves once the ones in flight have ended. */
  stop (): Promise<LoadRecord[]> {
    this.#stopped = true
    return this.done
  }

  get #running (): boolean { return !this.#stopped && Date.now() < this.#deadline }

  async #loop (loop: number): Promise<void> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    this.#agents.push(agent)
    const { pauseMs = 0, errorPauseMs = 20 } = this.#options
    for (let seq = 0; this.#running; seq++) {
      const record = await this.#send(agent, loop, seq)
      this.records.push(record)
      const pause = record.error !== undefined ? errorPauseMs : pauseMs
      if (pause > 0 && this.#running) await sleep(pause)
    }
  }

  #send (agent: Agent, loop: number, seq: number): Promise<LoadRecord> {
    const path = this.#options.path?.(loop, seq) ?? '/'
    const id = `${this.#run}-${loop}-${seq}`
    const headers = { 'x-request-id': id, ...this.#options.headers?.(loop, seq) }
    const record: LoadRecord = { id, loop, path, startedAt: Date.now(), endedAt: 0, reusedSocket: false }
    return new Promise((resolve) => {
      let settled = false
      const settle = (fields: Partial<LoadRecord>): void => {
        if (settled) return
        settled = true
        Object.assign(record, fields, { endedAt: Date.now() })
        resolve(record)
      }
      const req = request(this.#options.url + path, { agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.once('error', (err: NodeJS.ErrnoException) => settle({ status: res.statusCode, error: err.code ?? 'response-error' }))
        res.once('end', () => {
          const upstream = res.headers['x-upstream']
          settle({
            status: res.statusCode ?? 0,
            connectionClose: String(res.headers.connection ?? '').toLowerCase() === 'close',
            ...(typeof upstream === 'string' ? { upstream } : {}),
            ...errorCodeOf(res.headers['content-type'], chunks, res.headers['x-upstream'] === undefined),
          })
        })
        res.once('aborted', () => settle({ status: res.statusCode, error: 'aborted' }))
      })
      req.once('socket', () => { record.reusedSocket = req.reusedSocket })
      req.setTimeout(this.#options.timeoutMs ?? 10_000, () => {
        settle({ error: 'timeout' })
        req.destroy()
      })
      req.once('error', (err: NodeJS.ErrnoException) => settle({ error: err.code ?? 'error' }))
      req.end()
    })
  }
}

function errorCodeOf (contentType: string | undefined, chunks: Buffer[], fromGateway: boolean): { errorCode?: string } {
  if (!fromGateway || !(contentType ?? '').startsWith('application/json')) return {}
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown }
    return typeof parsed.error === 'string' ? { errorCode: parsed.error } : {}
  } catch {
    return {}
  }
}

/** Counts by outcome: the status ('200', '503 shutting_down') or the client-side error ('ECONNREFUSED'). */
export function tally (records: readonly LoadRecord[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of records) {
    const outcome = r.error !== undefined ? (r.status !== undefined ? `${r.status} ${r.error}` : r.error) : `${r.status}${r.errorCode ? ` ${r.errorCode}` : ''}`
    out[outcome] = (out[outcome] ?? 0) + 1
  }
  return out
}

/** Answered requests per second over the records' span. */
export function rate (records: readonly LoadRecord[]): number {
  if (records.length === 0) return 0
  const first = records.reduce((min, r) => Math.min(min, r.startedAt), Infinity)
  const last = records.reduce((max, r) => Math.max(max, r.endedAt), 0)
  return records.length / Math.max(0.001, (last - first) / 1000)
}

/** Records that are not a 2xx answer. */
export function failures (records: readonly LoadRecord[]): LoadRecord[] {
  return records.filter((r) => r.error !== undefined || r.status === undefined || r.status < 200 || r.status > 299)
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
