// Request buffering (HAProxy's option http-buffer-request): up to retry.maxBufferBytes of a body are read before
// an upstream connection is taken, so a client that trickles its body holds only its own socket.
import type { IncomingMessage } from 'node:http'
import { Readable, Transform } from 'node:stream'
import { GatewayError } from '../errors.ts'
import type { Clock } from '../runtime.ts'

export interface BodyStart {
  /** The whole body (complete) or its first bytes (at least `limit`), which must go out before the rest. */
  bytes: Buffer
  /** The client has sent all of it. */
  complete: boolean
}

const EMPTY = Buffer.alloc(0)

/** Whether the request announces a body (a Transfer-Encoding, or a Content-Length over 0: Node's parser checked it). */
export function announcesBody (req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0)
}

const BODY_BYTES = Symbol('switchyard.bodyBytes')
type CountedRequest = IncomingMessage & { [BODY_BYTES]?: number }
/** IncomingMessage's own push (it keeps Readable's). */
const push = Readable.prototype.push

/**
 * Node's parser hands each piece of a body to `req.push` as it parses it (chunked framing removed), whether or not
 * anyone reads it yet: counting there sees what arrived with the head, a body cut short, and a body streamed on.
 * A prefix readBody gives back (unshift) does not pass here again. One function for every request (`this`).
 */
function pushCounted (this: CountedRequest, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
  if (chunk !== null) this[BODY_BYTES]! += chunk.length
  return push.call(this, chunk, encoding)
}

/** Counts the body of `req` from now on: called at its request event, before the parser has handed any over. */
export function countBodyBytes (req: IncomingMessage): void {
  (req as CountedRequest)[BODY_BYTES] = 0
  req.push = pushCounted
}

/** Body bytes received so far, of a request countBodyBytes was called for (0 for any other). */
export function receivedBodyBytes (req: IncomingMessage): number {
  return (req as CountedRequest)[BODY_BYTES] ?? 0
}

/**
 * Reads a body (`expected` bytes, Infinity when chunked) until it ends or `limit` bytes have arrived: it is given
 * whole (complete) only within `limit` bytes. Otherwise a prefix is given back to `req` (unshift) paused, so `req`
 * streams the whole body from its first byte.
 * Rejects if the client sends more than announced, goes away, or has not sent that much within `timeoutMs`
 * (408 request_timeout: a slow client must not hold the request forever).
 */
export function readBody (req: IncomingMessage, expected: number, limit: number, timeoutMs: number, clock: Clock): Promise<BodyStart> {
  return new Promise((resolve, reject) => {
    if (limit <= 0 && expected > 0) return resolve({ bytes: EMPTY, complete: false })
    const chunks: Buffer[] = []
    let size = 0
    const timer = clock.setTimeout(() => {
      reject(new GatewayError('request_timeout'))
      req.pause()
    }, timeoutMs)
    const stop = (): void => {
      clock.clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > expected) return void req.destroy(new GatewayError('bad_request'))
      chunks.push(chunk)
      // enough to be worth a connection: the rest streams behind these bytes. A body over `limit` that arrived
      // whole (one read) streams too: held whole, it would be kept for retries past retry.maxBufferBytes. At
      // exactly `limit`, a Content-Length says whether more follows; a chunked body (expected Infinity) may be
      // whole, so its next read or its end decides (held whole within `limit` either way, README).
      if (size > limit || (size === limit && expected !== Infinity && size < expected)) {
        req.pause()
        stop()
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
        req.unshift(bytes)
        resolve({ bytes, complete: false })
      }
    }
    const onEnd = (): void => {
      stop()
      resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), complete: true })
    }
    const onError = (err: Error): void => { stop(); reject(err) }
    const onClose = (): void => { stop(); if (!req.complete) reject(new GatewayError('bad_request')) }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
    req.once('close', onClose)
  })
}

/**
 * A streamed (chunked) body counted as it passes: past `max` bytes `onExceed` ends the request (413), before
 * the byte that crossed the limit is sent. Only routes with maxBodyBytes pay for the extra stream.
 */
export function limitBody (req: IncomingMessage, max: number, onExceed: () => void): Readable {
  let seen = 0
  const limited = new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > max) {
        onExceed()
        return callback()
      }
      callback(null, chunk)
    },
  })
  req.once('error', (err) => limited.destroy(err))
  // undici listens for the body's errors only while it owns the body: not while the request waits in its pool's
  // queue, nor during a retry's backoff. A client's reset then would reach pipe()'s handler alone, which
  // rethrows it (uncaught). The client's leaving is seen by the exchange (its close); the error itself is no news.
  limited.on('error', ignoreError)
  return req.pipe(limited)
}

function ignoreError (): void {}
