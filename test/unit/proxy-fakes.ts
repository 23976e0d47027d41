// Stand-ins for the two ends of one proxied request, for unit tests of the hot path without sockets:
// a client response that records what it was sent (and can pretend its socket is full), an undici dispatch
// controller that records abort/pause/resume, and a real PoolRuntime on a manual clock whose targets nobody
// connects to. (Not a test file: tap only runs *.test.ts.)
import { EventEmitter } from 'node:events'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import { Attempt, type AttemptResult } from '../../src/proxy/attempt.ts'
import { Exchange } from '../../src/proxy/exchange.ts'
import type { RandomSource } from '../../src/runtime.ts'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { ManualClock } from '../helpers/clock.ts'
import { refusedPorts } from '../helpers/refused-port.ts'
import { poolConfig } from './config-fixtures.ts'

/** The client's side of the response, as far as an attempt writes to it. */
export class FakeResponse extends EventEmitter {
  statusCode = 200
  headers: OutgoingHttpHeaders | undefined = undefined
  readonly chunks: Buffer[] = []
  ended = false
  destroyed = false
  /** What write() returns: false pretends the client's socket buffer is full (far past any pause threshold). */
  accepting = true
  /** Callbacks of writes not yet completed (a test completes them with completeWrites()). */
  readonly pendingCallbacks: ((err?: Error | null) => void)[] = []

  get writableLength (): number { return this.accepting ? 0 : Number.MAX_SAFE_INTEGER }

  get headersSent (): boolean { return this.headers !== undefined }
  get body (): string { return Buffer.concat(this.chunks).toString() }

  /** Headers as an object, whichever form writeHead() got (a flat list's repeated names become arrays). */
  writeHead (status: number, headers: OutgoingHttpHeaders | (string | string[])[]): this {
    this.statusCode = status
    if (!Array.isArray(headers)) {
      this.headers = headers
      return this
    }
    const out: Record<string, string | string[]> = {}
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string
      const value = headers[i + 1]!
      const existing = out[name]
      out[name] = existing === undefined ? value : [...[existing].flat(), ...[value].flat()]
    }
    this.headers = out
    return this
  }

  write (chunk: Buffer, callback?: (err?: Error | null) => void): boolean {
    // kept as written: a chunk whose memory the proxy gives back later must not change what was sent
    this.chunks.push(Buffer.from(chunk))
    if (callback !== undefined) this.pendingCallbacks.push(callback)
    return this.accepting
  }

  /** The client's socket has taken every write so far. */
  completeWrites (err?: Error): void {
    for (const callback of this.pendingCallbacks.splice(0)) callback(err)
  }

  end (): this {
    this.ended = true
    return this
  }

  destroy (): this {
    this.destroyed = true
    return this
  }
}

/**
 * undici's side: records what the handler asked of it. Like undici, it delivers an abort of a started request
 * to the handler's onResponseError (synchronously here, so the test sees the outcome at once).
 */
export class FakeController implements Dispatcher.DispatchController {
  aborted = false
  paused = false
  reason: Error | null = null
  pauses = 0
  resumes = 0
  readonly #handler: Dispatcher.DispatchHandler

  constructor (handler: Dispatcher.DispatchHandler) { this.#handler = handler }

  abort (reason: Error): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.#handler.onResponseError?.(this, reason)
  }

  pause (): void {
    this.paused = true
    this.pauses++
  }

  resume (): void {
    this.paused = false
    this.resumes++
  }
}

/** URLs of `count` distinct ports on 127.0.0.1 that refuse connections, and that no test's server can be given. */
export async function refusingUrls (count: number): Promise<string[]> {
  return (await refusedPorts(count)).map((port) => `http://127.0.0.1:${port}`)
}

/**
 * Ports whose server accepts a connection and resets it once the request arrives: the request left, so the
 * failure is a 'reset' (retried within the budget), unlike a refused connection. Closed in teardown.
 */
export async function resettingUrls (t: { teardown (fn: () => unknown): void }, count: number): Promise<string[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<Server>((resolve) => {
    const server = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()))
    server.listen(0, '127.0.0.1', () => resolve(server))
  })))
  t.teardown(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))))
  return servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
}

/** An error as undici or the socket layer reports it: only its code matters to the proxy. */
export function codedError (code: string): Error {
  return Object.assign(new Error(code), { code })
}

export interface RuntimeFixture {
  runtime: PoolRuntime
  clock: ManualClock
  targets: readonly Target[]
  /** Outlier calls in order, e.g. ['failure 127.0.0.1:1']. */
  outlier: string[]
}

/**
 * A real PoolRuntime from a validated pool config (three targets on ports nobody listens on unless `pool`
 * says otherwise) on a manual clock; closed in teardown. The random source defaults to 0: no jittered backoff.
 */
export function runtimeFixture (t: { teardown (fn: () => unknown): void }, pool: Record<string, unknown> = {}, random: RandomSource = () => 0): RuntimeFixture {
  const clock = new ManualClock()
  const config = poolConfig({ targets: ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'], ...pool })
  const runtime = new PoolRuntime('p', config, { clock, random })
  t.teardown(() => runtime.close())
  const outlier: string[] = []
  const { success, failure } = runtime.outlier
  runtime.outlier.success = (target) => { outlier.push(`success ${target.id}`); success.call(runtime.outlier, target) }
  runtime.outlier.failure = (target) => { outlier.push(`failure ${target.id}`); failure.call(runtime.outlier, target) }
  return { runtime, clock, targets: runtime.pool.targets, outlier }
}

export interface ExchangeInit {
  method?: string
  body?: Buffer | Readable | null
  replayable?: boolean
  idempotencyKey?: boolean
  /** Milliseconds from the clock's now to the response deadline (default: the pool's requestMs). */
  remainingMs?: number
}

/** A real Exchange over a minimal request and a FakeResponse, with its deadline on the fixture's clock. */
export function exchange (fx: RuntimeFixture, init: ExchangeInit = {}): { ex: Exchange; res: FakeResponse } {
  const req = Object.assign(new EventEmitter(), {
    socket: { bytesRead: 0, bytesWritten: 0 },
    method: init.method ?? 'GET',
    url: '/x',
    headers: {},
    rawHeaders: [],
    complete: true,
  })
  const res = new FakeResponse()
  const ex = new Exchange(req as unknown as IncomingMessage, res as unknown as ServerResponse)
  ex.requestId = 'req-1'
  ex.upstreamPath = '/x'
  ex.pool = fx.runtime
  ex.body = init.body ?? null
  ex.replayable = init.replayable ?? true
  ex.idempotencyKey = init.idempotencyKey ?? false
  ex.deadline = fx.clock.now() + (init.remainingMs ?? fx.runtime.config.timeouts.requestMs)
  return { ex, res }
}

export interface Started {
  attempt: Attempt
  controller: FakeController
  /** Every result the attempt resolved with (exactly one once it has ended). */
  results: AttemptResult[]
}

/**
 * Starts an attempt on `target` as sendAttempt does (tried, in-flight +1), without dispatching it: the test
 * plays undici's part. `earlier` targets count as attempts already made.
 */
export function startAttempt (fx: RuntimeFixture, ex: Exchange, target: Target = fx.targets[0]!, earlier: readonly Target[] = []): Started {
  ex.tried.push(...earlier, target)
  fx.runtime.pool.acquire(target)
  const results: AttemptResult[] = []
  const attempt = new Attempt(ex, fx.runtime, target, (result) => results.push(result))
  return { attempt, controller: new FakeController(attempt), results }
}
