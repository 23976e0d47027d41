// Consistent hashing: each key goes to the winner of a weighted race on a hash ring (see hash-ring.ts), so
// removing one of N targets remaps only the ~1/N keys that target owned, and a pick costs O(1).
// Requests without a key are balanced round-robin.
import { fnv1a, HashRing, mix32 } from './hash-ring.ts'
import { PerList } from './per-list.ts'
import { RoundRobinBalancer } from './round-robin.ts'
import type { Balancer, Candidate, PickContext } from './types.ts'

export { fnv1a, mix32 } from './hash-ring.ts'

export class HashBalancer implements Balancer {
  readonly #fallback = new RoundRobinBalancer()
  readonly #rings = new PerList<readonly Candidate[], HashRing<Candidate>>()

  pick<T extends Candidate> (candidates: readonly T[], ctx: PickContext, avoid?: readonly T[]): T | undefined {
    const key = ctx.hashKey
    if (key === undefined || key === '') return this.#fallback.pick(candidates, ctx, avoid)
    if (candidates.length <= 1) return candidates[0]
    const ring = this.#rings.get(candidates) ?? this.#rings.set(candidates, new HashRing(candidates))
    return ring.lookup(mix32(fnv1a(key)), avoid) as T | undefined
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
