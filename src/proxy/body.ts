// Request bodies small enough to keep for a replay are read whole before the first attempt.
import type { IncomingMessage } from 'node:http'
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
