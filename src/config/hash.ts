// A config's fingerprint: equal for deep-equal configs whatever the key order, so a reload can skip a no-op.
import { createHash } from 'node:crypto'
import { canonicalDnsName, type PoolConfig, type ResolvedConfig } from './schema.ts'

/** JSON with object keys sorted at every depth; arrays keep their order (route and target order is data). */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
    const sorted: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k]
    return sorted
  }) ?? 'undefined'
}

// A resolved config is frozen, so its hash is worked out once, when first asked for (a reload compares with the
// running config's; the status document shows it), never at start-up.
const hashes = new WeakMap<ResolvedConfig, string>()

/**
 * First 16 hex digits of the sha256 of the canonical JSON: enough to tell configs apart, short enough to log. The
 * secrets (admin.token, secret) are left out: the hash is public (switchyard_config_info on /metrics, which needs no
 * token), and with the rest of a config known it would let anyone try guesses at the token offline, at full speed.
 * So a change of secrets alone keeps the hash: sameConfig() compares them too.
 */
export function configHash (config: ResolvedConfig): string {
  let hash = hashes.get(config)
  if (hash === undefined) hashes.set(config, hash = createHash('sha256').update(canonicalJson(withoutSecrets(config))).digest('hex').slice(0, 16))
  return hash
}

function withoutSecrets (config: ResolvedConfig): unknown {
  const { secret: _secret, ...rest } = config
  const { token: _token, ...admin } = config.admin
  return { ...rest, admin }
}

/** Whether two configs are the same, secrets included: a reload that only changes the admin token is applied. */
export function sameConfig (a: ResolvedConfig, b: ResolvedConfig): boolean {
  return a === b || (configHash(a) === configHash(b) && a.admin.token === b.admin.token && a.secret === b.secret)
}

/** sha256 of a file's bytes, in hex: tells whether a file changed without keeping its content. */
export function bytesHash (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const poolSettings = new WeakMap<PoolConfig, string>()

/**
 * A pool's settings, everything but its targets, as canonical JSON: a reload keeps a pool's runtime while they are
 * equal, and the reload's diff reports the pool changed when they are not. A discovered name's weight and backup flag
 * are its targets' settings, as a fixed target's are (the kept pool applies them); what is looked up (name, port,
 * protocol, refreshMs) is the pool's, its discoveries being built with it. Worked out when a reload first compares it
 * (a config is frozen), never at start-up.
 */
export function poolSettingsJson (pool: PoolConfig): string {
  let json = poolSettings.get(pool)
  if (json === undefined) {
    const { targets: _targets, discover, ...settings } = pool
    // a name respelled (case, root dot: RFC 4343) looks up the same addresses: no change
    const lookups = discover.map(({ weight: _weight, backup: _backup, ...lookup }) => ({ ...lookup, dns: canonicalDnsName(lookup.dns) }))
    poolSettings.set(pool, json = canonicalJson({ ...settings, discover: lookups }))
  }
  return json
}
