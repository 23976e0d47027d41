// Request bodies small enough to keep for a replay are read whole before the first attempt.
import type { IncomingMessage } from 'node:http'
import { Transform, type Readable } from 'node:stream'
import { GatewayError } from '../errors.ts'
import type { Clock } from '../runtime.ts'

/**
 * Reads a body whose length is known to be small; rejects if the client sends more, goes away, or has not
 * sent it all within `timeoutMs` (408 request_timeout: a slow client must not hold the request forever).
 */
export function readBody (req: IncomingMessage, expected: number, timeoutMs: number, clock: Clock): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = clock.setTimeout(() => {
      reject(new GatewayError('request_timeout'))
      req.pause()
    }, timeoutMs)
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > expected) req.destroy(new GatewayError('bad_request'))
      else chunks.push(chunk)
    })
    req.once('end', () => {
      clock.clearTimeout(timer)
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
    })
    req.once('error', (err) => { clock.clearTimeout(timer); reject(err) })
    req.once('close', () => { clock.clearTimeout(timer); if (!req.complete) reject(new GatewayError('bad_request')) })
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
  return req.pipe(limited)
}
