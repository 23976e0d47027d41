// The admin token: mutating calls need `Authorization: Bearer <token>` when one is set.
import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Returns a check for Authorization headers against the token in force at each call (a reload may change it);
 * with no token every call passes.
 */
export function bearerCheck (token: () => string | undefined): (authorization: string | undefined) => boolean {
  let digestOf: string | undefined
  let expected: Buffer | undefined
  return (authorization) => {
    const current = token()
    if (current === undefined) return true
    if (current !== digestOf) {
      digestOf = current
      // compare digests: equal lengths, so the comparison time says nothing about the token's length either
      expected = createHash('sha256').update(current).digest()
    }
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return false
    const given = createHash('sha256').update(authorization.slice(7).trim()).digest()
    return timingSafeEqual(given, expected!)
  }
}

export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
