// Why the gateway could not start, in one sentence that names the config field to change: a listener that cannot
// bind, a log destination that cannot be opened. The operator gets that sentence and exit code 1, never a stack.
import { dirname, resolve } from 'node:path'
import { ADMIN_TOKEN_CHARACTERS, ADMIN_TOKEN_CHARACTERS_PROBLEM, MIN_ADMIN_TOKEN_LENGTH, MIN_SECRET_LENGTH } from '../config/schema.ts'

/** A start-up failure already described for the operator (message: `field: what is wrong`). */
export class StartupError extends Error {
  override readonly name = 'StartupError'
}

type ListenerField = 'server' | 'admin'

/** What a listen() failure means for `server` or `admin` (their host and port as configured). */
export function describeListenError (err: unknown, field: ListenerField, address: { host: string; port: number }): string {
  const { code, message } = err as NodeJS.ErrnoException
  const where = `${address.host}:${address.port}`
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return `${field}.host: cannot resolve '${address.host}'`
    case 'EADDRINUSE':
      return `${field}.port: ${address.port} is in use (${where})`
    case 'EADDRNOTAVAIL':
      return `${field}.host: '${address.host}' is not an address of this machine`
    case 'EACCES':
    case 'EPERM':
      return `${field}.port: not allowed to listen on ${where} (${code}; ports below 1024 need privileges)`
    default:
      return `${field}: cannot listen on ${where}: ${firstLine(message ?? String(err))}`
  }
}

/**
 * What a failure to open the log file means, or undefined when `err` is not about it. The logger opens the file
 * (and makes its directory) while the gateway is built; its error names the path it failed on.
 */
export function describeLogDestinationError (err: unknown, destination: string): string | undefined {
  if (destination === 'stdout' || destination === 'stderr') return undefined
  const { code, path, syscall } = err as NodeJS.ErrnoException
  if (typeof code !== 'string' || typeof path !== 'string' || (syscall !== 'open' && syscall !== 'mkdir')) return undefined
  const file = resolve(destination)
  // the file itself, or a directory on the way to it (mkdir of a path under a file, say)
  if (resolve(path) !== file && !isAncestor(resolve(path), dirname(file))) return undefined
  // making the file's directory failed because something on the way is a file
  if (syscall === 'mkdir' && (code === 'EEXIST' || code === 'ENOTDIR')) return `log.destination: cannot open '${destination}': '${path}' is not a directory`
  return `log.destination: cannot open '${destination}' (${code}${resolve(path) === file ? '' : ` at '${path}'`})`
}

function isAncestor (dir: string, of: string): boolean {
  return of === dir || of.startsWith(dir.endsWith('/') ? dir : `${dir}/`)
}

function firstLine (text: string): string {
  return text.split('\n')[0]!
}

/** The example values deploy/kubernetes/secret.yaml ships with: a pod started with one has a public token or key. */
const PLACEHOLDER = /^REPLACE-ME/

/** The secrets the environment may give, each with the config field it replaces and that field's minimum length. */
const ENV_SECRETS = {
  SWITCHYARD_ADMIN_TOKEN: { field: 'admin.token', minLength: MIN_ADMIN_TOKEN_LENGTH },
  SWITCHYARD_SECRET: { field: 'secret', minLength: MIN_SECRET_LENGTH },
} as const

export type EnvSecretName = keyof typeof ENV_SECRETS

/**
 * A secret as the environment gives it and the gateway uses it: without surrounding whitespace ('' for whitespace
 * only, which envSecretsProblem refuses), or undefined when unset or empty. A Kubernetes Secret made with
 * `--from-file` of `openssl rand -hex 32 > f` ends in a newline that no Authorization header can carry.
 */
export function envSecret (env: NodeJS.ProcessEnv, name: EnvSecretName): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value.trim()
}

/**
 * What is wrong with the admin token and cookie secret the environment gives (they replace the file's), or
 * undefined: either shorter than its file setting's minimum once trimmed (a value of whitespace only included), or
 * still the example Secret's placeholder.
 */
export function envSecretsProblem (env: NodeJS.ProcessEnv): string | undefined {
  for (const [name, { field, minLength }] of Object.entries(ENV_SECRETS)) {
    const value = envSecret(env, name as EnvSecretName)
    if (value === undefined) continue
    if (PLACEHOLDER.test(value)) return `${name}: still the example value of deploy/kubernetes/secret.yaml: set a random one (openssl rand -hex 32)`
    if (value.length < minLength) return `${name}: must be at least ${minLength} characters (without surrounding whitespace), as ${field} must`
    if (name === 'SWITCHYARD_ADMIN_TOKEN' && !ADMIN_TOKEN_CHARACTERS.test(value)) return `${name}: ${ADMIN_TOKEN_CHARACTERS_PROBLEM}, as ${field} must`
  }
  return undefined
}
