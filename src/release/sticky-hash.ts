// Maps an affinity key (user id, session cookie, client IP) to a fixed bucket in [0, STICKY_BUCKETS).
// Pure function of the key: no per-process seed, so every gateway replica and every restart agree.
import { fnv1a, mix32 } from '../balancer/hash.ts'

export const STICKY_BUCKETS = 10_000

/** `salt` (e.g. the canary's pool name) lets different canaries pick different keys; '' keeps them aligned. */
export function stickyBucket (key: string, salt = ''): number {
  const h = mix32(fnv1a(salt === '' ? key : `${salt}\u0000${key}`))
  // multiply-shift instead of modulo: uses the high bits, no bias worth measuring at 10,000 buckets
  return Math.floor((h * STICKY_BUCKETS) / 4294967296)
}
