// What a config may run with but an operator should hear about: logged at start (and the reload that brings it), and
// printed by `check` on stderr as `nginx -t` prints its warnings, in the same words.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { isLoopback } from '../admin/auth.ts'
import type { ResolvedConfig } from '../config/schema.ts'

export const START_WARNINGS = {
  noSecret: 'no secret set (config secret or SWITCHYARD_SECRET): read-your-writes cookies are signed with a key of this process only, so stickiness breaks across gateway replicas and restarts',
  openAdmin: 'the admin listener is not on loopback and no admin token is set: anyone who reaches it can drain targets and reload config (set admin.token or SWITCHYARD_ADMIN_TOKEN)',
} as const

/** The admin token in force: SWITCHYARD_ADMIN_TOKEN (trimmed; empty is unset) over the config's. */
export function adminTokenOf (config: ResolvedConfig, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.SWITCHYARD_ADMIN_TOKEN
  if (fromEnv === undefined || fromEnv === '') return config.admin.token
  return fromEnv.trim() || config.admin.token || fromEnv
}

/** The read-your-writes signing secret given (SWITCHYARD_SECRET over the config's), or undefined: one is made up. */
export function secretOf (config: ResolvedConfig, env: NodeJS.ProcessEnv): string | undefined {
  return env.SWITCHYARD_SECRET?.trim() || config.secret
}

/**
 * The warnings the start would log for this config and environment. The start judges the admin address it bound; here
 * the host is looked up as listen() would (127.1, 2130706433 and a name of this machine's own are loopback too).
 */
export async function startWarnings (config: ResolvedConfig, env: NodeJS.ProcessEnv): Promise<string[]> {
  const warnings: string[] = []
  if (secretOf(config, env) === undefined && config.routes.some((r) => r.reads !== undefined)) warnings.push(START_WARNINGS.noSecret)
  if (adminTokenOf(config, env) === undefined && !isLoopback(await addressOf(config.admin.host))) warnings.push(START_WARNINGS.openAdmin)
  return warnings
}

/** The address listen() binds for a host: itself when it is one; a name (or a shorthand such as 127.1) looked up. */
async function addressOf (host: string): Promise<string> {
  if (isIP(host) !== 0 || host === '' || host.toLowerCase() === 'localhost') return host
  return lookup(host).then((found) => found.address, () => host)
}
