// Extracts a request's affinity key for hash balancing: 'ip', 'header:<name>' or 'cookie:<name>'.
import type { IncomingMessage } from 'node:http'
import type { BalancerConfig } from '../config/schema.ts'

export type KeyExtractor = (req: IncomingMessage, clientIp: string) => string | undefined

export function keyExtractor (balancer: BalancerConfig): KeyExtractor | undefined {
  if (typeof balancer !== 'object') return undefined
  const key = balancer.key
  if (key === 'ip') return (_req, ip) => ip
  const colon = key.indexOf(':')
  const kind = key.slice(0, colon)
  const name = key.slice(colon + 1).toLowerCase()
  if (kind === 'header') {
    return (req) => {
      const v = req.headers[name]
      return Array.isArray(v) ? v[0] : v
    }
  }
  return (req) => cookieValue(req.headers.cookie, key.slice(colon + 1))
}

export function cookieValue (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
