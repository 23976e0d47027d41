// A load client that sends exactly N requests: `connections` keep-alive sockets, each sending the next GET as soon
// as its previous response is complete, until N have been answered. The request is wrk's, byte for byte, so the
// proxy parses what it parses under `npm run bench`. Instruction counts are divided by N: it must be exact. The
// sockets stay open from one batch to the next, as wrk's do for a whole run: a counted batch pays for no
// connection set-up.
import { connect, type Socket } from 'node:net'
import { parseResponses } from './http-responses.ts'

export interface CountedRun {
  /** Responses completed (always the N asked for, or the batch throws). */
  responses: number
  /** Responses outside 2xx, by status. */
  non2xx: Record<number, number>
  seconds: number
}

interface Connection {
  socket: Socket
  pending: Buffer
  inFlight: boolean
  /** Set once the socket closed or failed; a closed connection is replaced at the next batch. */
  closed: boolean
  onResponse: ((status: number) => void) | undefined
  onFailure: ((err: Error) => void) | undefined
}

export class CountingClient {
  readonly #port: number
  readonly #host: string
  readonly #request: Buffer
  readonly #connections: Connection[] = []
  readonly #size: number

  constructor (url: string, connections: number) {
    const target = new URL(url)
    this.#port = Number(target.port)
    this.#host = target.hostname
    // what wrk sends for `wrk <url>`
    this.#request = Buffer.from(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`, 'latin1')
    this.#size = connections
  }

  /** Sends exactly `requests` requests over the client's connections, at most one in flight on each. */
  send (requests: number, timeoutMs: number): Promise<CountedRun> {
    for (let i = 0; i < this.#connections.length; i++) {
      if (this.#connections[i]!.closed) this.#connections[i] = this.#open()
    }
    while (this.#connections.length < this.#size) this.#connections.push(this.#open())
    const started = process.hrtime.bigint()
    let sent = 0
    let answered = 0
    const non2xx: Record<number, number> = {}
    return new Promise<CountedRun>((resolve, reject) => {
      let done = false
      const finish = (err?: Error): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        for (const c of this.#connections) {
          c.onResponse = undefined
          c.onFailure = undefined
        }
        if (err) {
          this.close()
          reject(err)
        } else {
          resolve({ responses: answered, non2xx, seconds: Number(process.hrtime.bigint() - started) / 1e9 })
        }
      }
      const timer = setTimeout(() => finish(new Error(`${answered} of ${requests} responses after ${timeoutMs} ms`)), timeoutMs)
      const next = (c: Connection): void => {
        if (sent >= requests) return
        sent++
        c.inFlight = true
        c.socket.write(this.#request)
      }
      for (const c of this.#connections) {
        c.onResponse = (status) => {
          answered++
          if (status < 200 || status > 299) non2xx[status] = (non2xx[status] ?? 0) + 1
          if (answered === requests) finish()
          else next(c)
        }
        c.onFailure = finish
        next(c)
      }
    })
  }

  close (): void {
    for (const c of this.#connections) c.socket.destroy()
    this.#connections.length = 0
  }

  #open (): Connection {
    const socket = connect({ port: this.#port, host: this.#host, noDelay: true })
    const c: Connection = { socket, pending: Buffer.alloc(0), inFlight: false, closed: false, onResponse: undefined, onFailure: undefined }
    socket.on('data', (chunk: Buffer) => {
      let parsed
      try {
        parsed = parseResponses(c.pending.length === 0 ? chunk : Buffer.concat([c.pending, chunk]))
      } catch (err) {
        return c.onFailure?.(err as Error)
      }
      c.pending = parsed.rest
      for (const status of parsed.statuses) {
        if (!c.inFlight) return c.onFailure?.(new Error('a response no request asked for'))
        c.inFlight = false
        c.onResponse?.(status)
      }
    })
    socket.on('error', (err) => {
      c.closed = true
      c.onFailure?.(err)
    })
    socket.on('close', () => {
      c.closed = true
      // a keep-alive connection closed between batches is replaced; with a request on it, the batch fails
      if (c.inFlight) c.onFailure?.(new Error('the proxy closed a connection with a request in flight'))
    })
    return c
  }
}
