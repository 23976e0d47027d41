// Loads a routes.config.ts (or .js/.mjs/.json) file from anywhere on disk and validates it: a JSON file is parsed
// here, a code config is imported by config-modules.ts (run again at every load).
import { readFile, realpath, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.ts'
import { importConfig, NoDefaultExport } from './config-modules.ts'
import { bytesHash, sameConfig } from './hash.ts'
import { jsonSyntaxError } from './json-syntax.ts'
import { describeLoadError } from './load-error.ts'
import type { ResolvedConfig } from './schema.ts'
import { validateConfig } from './validate.ts'

/** How long a .ts, .mjs or .js config may take to import, its top-level awaits included, before a load gives up. */
export const DEFAULT_LOAD_TIMEOUT_MS = 30_000

export interface LoadOptions {
  /** Default DEFAULT_LOAD_TIMEOUT_MS. A config past it is refused; its import, which nothing can cancel, is left behind. */
  timeoutMs?: number
  /**
   * The config running now: if the file holds the bytes its last load ran and that load gave a config equal to this
   * one, this one is returned and the module is not run (a file event that changed nothing costs nothing). Without
   * it every load runs the config again, so what it reads (other files, modules it imports, the environment) is
   * read afresh.
   */
  reuse?: ResolvedConfig
}

// The last config each file gave, with where it came from: the file's real URL and a hash of the bytes that ran.
// One entry per config path (there is one in a gateway).
const lastLoads = new Map<string, { origin: string; config: ResolvedConfig }>()

/** sha256 of the bytes that gave the config `file` last loaded into, when known (unchanged while it was imported). */
export function loadedBytesHash (file: string): string | undefined {
  const origin = lastLoads.get(resolve(file))?.origin
  return origin?.slice(origin.lastIndexOf('#') + 1)
}

export async function loadConfigFile (file: string, options: LoadOptions = {}): Promise<ResolvedConfig> {
  const path = resolve(file)
  let info
  try {
    info = await stat(path)
  } catch (err) {
    // only a path that names nothing is "no such file": out of memory, an I/O error, a denied directory say why
    const code = (err as NodeJS.ErrnoException).code
    throw code === 'ENOENT' || code === 'ENOTDIR' ? new ConfigError(['no such file'], path) : loadError(describeLoadError(err, path), path, err)
  }
  if (!info.isFile()) throw new ConfigError(['is not a file'], path)
  let exported: unknown
  let text: string | undefined
  let origin: string | undefined
  try {
    // The real path, resolved at every load: Node's resolver keeps what a symlink led to for the life of the
    // process, so once a Kubernetes ConfigMap swapped its ..data link the config's path would still lead to the old
    // (deleted) directory. Relative imports resolve from the real directory, where a ConfigMap's other files are too.
    const real = await realpath(path)
    const bytes = await readFile(real)
    origin = `${pathToFileURL(real).href}#${bytesHash(bytes)}`
    const last = lastLoads.get(path)
    if (options.reuse !== undefined && last?.origin === origin && sameConfig(last.config, options.reuse)) return options.reuse
    // a JSON file reads nothing else: the same bytes are the same config, unvalidated again (5,000 routes: ~50 ms
    // of a POST /reload's blocking time). Code runs again whatever its bytes: it may read files and variables.
    if (path.endsWith('.json') && last?.origin === origin) return last.config
    if (path.endsWith('.json')) {
      text = bytes.toString('utf8')
      exported = JSON.parse(text)
    } else {
      exported = await importConfig(real, options.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS)
      // the file changed while it was imported: what ran may be either version, so it stands for neither
      if (`${pathToFileURL(real).href}#${await readFile(real).then(bytesHash, () => '')}` !== origin) origin = undefined
    }
  } catch (err) {
    if (err instanceof NoDefaultExport) throw new ConfigError(['has no default export'], path)
    const problem = text !== undefined && (err as Error).name === 'SyntaxError' ? jsonSyntaxError(text) : undefined
    throw loadError(problem ?? describeLoadError(err, path), path, err)
  }
  if (exported === undefined) throw new ConfigError(['has no default export'], path)
  let config: ResolvedConfig
  try {
    config = validateConfig(exported, path)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    // the export threw as it was read (a getter, a Proxy trap): the config's fault, said with its file and no stack.
    // No cause kept: a code on it (EMFILE) would pass for a failure of the gateway's own (src/config/reloader.ts).
    throw new ConfigError([`cannot read the exported config: ${firstLine(err)}`], path)
  }
  if (origin !== undefined) lastLoads.set(path, { origin, config })
  else lastLoads.delete(path)
  return config
}

/**
 * A config that could not be loaded, with the error behind it as its cause: a reload tells by its code a failure of
 * the gateway's own (out of file descriptors: src/config/reloader.ts) from one of the file's.
 */
function loadError (problem: string, path: string, cause: unknown): ConfigError {
  const error = new ConfigError([problem], path)
  error.cause = cause
  return error
}

/** The first line of what was thrown (its message, if it has one). */
function firstLine (err: unknown): string {
  try {
    return String((err as { message?: unknown } | null | undefined)?.message ?? err).split('\n')[0]!
  } catch {
    return 'an error that cannot be shown' // a thrown Proxy or an object whose toString throws
  }
}
