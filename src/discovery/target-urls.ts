// Addresses to target URLs, and the difference between two sets of them. Sorted, so the same
// answer in another order is the same set and diffs are stable.
import { isIPv6 } from 'node:net'
import type { DnsTargetSpec } from './spec.ts'

/** Target URLs in origin form (`http://10.0.0.1:8080`, `http://[fd00::1]:8080`), deduplicated and sorted. */
export function targetUrls (addresses: Iterable<string>, spec: Pick<DnsTargetSpec, 'port' | 'protocol'>): string[] {
  const protocol = spec.protocol ?? 'http'
  const urls = new Set<string>()
  for (const address of addresses) {
    const host = isIPv6(address) ? `[${address}]` : address
    urls.add(new URL(`${protocol}://${host}:${spec.port}`).origin)
  }
  return [...urls].sort()
}

export interface UrlDiff {
  added: string[]
  removed: string[]
}

export function diffUrls (previous: readonly string[], next: readonly string[]): UrlDiff {
  const before = new Set(previous)
  const after = new Set(next)
  return {
    added: next.filter((url) => !before.has(url)),
    removed: previous.filter((url) => !after.has(url)),
  }
}
