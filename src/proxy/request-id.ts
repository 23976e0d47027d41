// Request ids for requests that arrive without one: 128 random bits as 22 base64url characters.
// crypto.randomUUID() costs about 0.5 µs and 500 bytes of garbage per request on the hot path (it builds its
// string from 20 pieces); one slice of a pre-filled random buffer is a single native call. A counter would be
// cheaper still but would tell every client how many requests this process has served.
import { randomFillSync } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isSaneRequestId } from './headers.ts'

const ID_BYTES = 16
const POOL_BYTES = ID_BYTES * 512
const pool = Buffer.allocUnsafe(POOL_BYTES)
let offset = POOL_BYTES

export function newRequestId (): string {
  if (offset === POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
}

/** The request id of a request refused or ended before admission (shutdown, overload, a client that left first). */
export function requestIdOf (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && isSaneRequestId(given) ? given : newRequestId()
}
