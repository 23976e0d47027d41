// Reads a request's affinity key for hash balancing, as the pool's key spec says: client address, header or cookie.
import type { IncomingMessage } from 'node:http'
import { parseCookie } from 'cookie'
import type { HashKeySpec } from '../balancer/hash.ts'
import { firstFieldValue } from './headers.ts'

/** `clientIp`: the client's address as the front half read it (Admission.clientIp: behind trusted proxies, theirs). */
export function extractHashKey (spec: HashKeySpec, req: IncomingMessage, clientIp: string): string | undefined {
  if (spec.source === 'ip') return clientIp
  if (spec.source === 'header') return firstFieldValue(req, spec.name)
  const header = req.headers.cookie
  // the cookie package percent-decodes values (RFC 6265 quoting is kept); the first cookie of a name wins
  return header === undefined ? undefined : parseCookie(header)[spec.name]
}
