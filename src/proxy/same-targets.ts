// A target as a pool knows it now. A reload that rebuilt the pool made new copies of the same upstreams, and so
// did one that kept it but changed a target's weight or backup flag (one copy per id either way): what a request
// or a handshake holds from before is matched to the running copy by id.
import type { UpstreamPool } from '../upstream/pool.ts'
import type { Target } from '../upstream/target.ts'

/** `target`'s copy in `pool` (itself if the pool has it), or undefined if a reload removed it from the pool. */
export function sameTargetIn (pool: UpstreamPool, target: Target): Target | undefined {
  if (pool.has(target)) return target
  const id = target.id
  return pool.targets.find((t) => t.id === id)
}

/**
 * `tried` as `pool` knows it now. Without the mapping the new copy of the target that just failed counted as
 * untried, and a retry could go back to it.
 */
export function sameTargetsIn (pool: UpstreamPool, tried: readonly Target[]): readonly Target[] {
  if (tried.every((t) => pool.has(t))) return tried
  return tried.map((t) => sameTargetIn(pool, t) ?? t)
}

/** `target`'s copy in `pool` if it may take a new request now (available, in the tier serving), else undefined. */
export function availableAgain (pool: UpstreamPool, target: Target): Target | undefined {
  const current = sameTargetIn(pool, target)
  return current !== undefined && pool.available().includes(current) ? current : undefined
}
