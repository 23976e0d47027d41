// Rendezvous (highest random weight) hashing: each key goes to the target scoring highest for it,
// so removing one of N targets remaps only the ~1/N keys that target owned. Weighted per
// Schindelhauer & Schomaker: score = -weight / ln(u), u uniform in (0, 1) from hash(key, target).
// Requests without a key are balanced round-robin.
import { RoundRobinBalancer } from './round-robin.ts'
import type { Balancer, Candidate, PickContext } from './types.ts'

export class HashBalancer implements Balancer {
  readonly #fallback = new RoundRobinBalancer()
  readonly #targetHash = new Map<string, number>()

  pick<T extends Candidate> (candidates: readonly T[], ctx: PickContext): T | undefined {
    const key = ctx.hashKey
    if (key === undefined || key === '') return this.#fallback.pick(candidates)
    if (candidates.length <= 1) return candidates[0]
    const keyHash = fnv1a(key)
    let best: T | undefined
    let bestScore = -Infinity
    for (const c of candidates) {
      let th = this.#targetHash.get(c.url)
      if (th === undefined) { th = fnv1a(c.url); this.#targetHash.set(c.url, th) }
      const u = (mix32(keyHash ^ Math.imul(th, 0x9e3779b1)) + 0.5) / 4294967296
      const score = -c.weight / Math.log(u)
      if (score > bestScore) { bestScore = score; best = c }
    }
    return best
  }
}

/** Where a request's affinity key comes from: the client address, a header or a cookie. */
export type HashKeySpec = { readonly source: 'ip' } | { readonly source: 'header' | 'cookie'; readonly name: string }

/** 'ip', 'header:<name>' or 'cookie:<name>' (validated by the config schema) → a spec the proxy reads keys with. */
export function parseHashKey (key: string): HashKeySpec {
  if (key === 'ip') return { source: 'ip' }
  const colon = key.indexOf(':')
  const source = key.slice(0, colon) === 'header' ? 'header' : 'cookie'
  // header names are case-insensitive (Node lower-cases them); cookie names are not
  const name = key.slice(colon + 1)
  return { source, name: source === 'header' ? name.toLowerCase() : name }
}

export function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** murmur3's finaliser: spreads every input bit over the output (FNV-1a alone leaves similar keys close). */
export function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}
