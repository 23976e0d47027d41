// Loads a routes.config.ts (or .js/.mjs/.json) file from anywhere on disk and validates it.
import { readFileSync, realpathSync, statSync } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { createRequire, registerHooks, stripTypeScriptTypes } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { types } from 'node:util'
import { ConfigError } from '../errors.ts'
import { bytesHash, sameConfig } from './hash.ts'
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
let loadCount = 0

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

/** Thrown by the load hook for a config file with no export at all (empty, only comments), which Node runs as CommonJS. */
class NoDefaultExport extends Error {}

// The query every load gives the config's URL: ESM caches modules by URL, and a reload must run the file again.
const LOAD_PARAM = 'load'
/**
 * A `file:` URL that carries a load's query, as it appears in a stack trace: the module is (part of) a config. The
 * URL's path runs to its '?': a module URL encodes whitespace, '?' and '#' in a path, but not parentheses (a
 * "team (copy)" directory), so none of these may end it. Its own query ('?v=1') may come before the load's.
 */
const CONFIG_FRAME = new RegExp(`(file://[^\\s?#]+)\\?(?:[^\\s#]*&)?${LOAD_PARAM}=(\\d+)`, 'g')

/**
 * The gateway's own sources: a config that imports them by relative path (`import { defineConfig } from
 * '../src/index.ts'`) shares the gateway's modules instead of loading a fresh copy of all of them at every load.
 * Here while the sources run (src/config/), beside dist/ while the bundle (dist/switchyard.mjs) does.
 */
const GATEWAY_SOURCES = new URL(import.meta.url.endsWith('.mjs') ? '../src/' : '../', import.meta.url).href

async function importConfig (real: string, timeoutMs: number): Promise<unknown> {
  registerConfigHooks()
  forgetCommonJsHelpers()
  const load = ++loadCount
  const url = `${pathToFileURL(real).href}?${LOAD_PARAM}=${load}`
  const guard = refuseExitFromConfig(load)
  configUrls.add(url)
  const importing = import(url) as Promise<{ default?: unknown }>
  // The guard stays until the import settles, past the time limit too: an import left behind still runs, and its
  // process.exit() must not end the gateway that refused it.
  const settled = (): void => { configUrls.delete(url); guard.release() }
  importing.then(settled, settled)
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${describeMs(timeoutMs)} (a top-level await that never settles?)`)), timeoutMs)
  })
  try {
    const mod = await Promise.race([importing, timedOut])
    // a config that caught the error its process.exit() threw still asked to end the gateway: refused all the same
    if (guard.exitCalled !== undefined) throw exitRefusal(guard.exitCalled)
    refuseRequiredEsModules()
    return mod.default
  } finally {
    clearTimeout(timer)
  }
}

function describeMs (ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/**
 * The file of the config module (the config, or a module it imported by relative path) that made `reason`, from
 * the load query its stack trace shows; undefined when no config module is on it. main.ts uses it to tell a config's stray rejected promise (logged, not
 * fatal: the gateway has nothing to do with it) from the gateway's own.
 */
export function configModuleOf (reason: unknown): string | undefined {
  const stack = (reason as { stack?: unknown } | null | undefined)?.stack
  if (typeof stack !== 'string') return undefined
  CONFIG_FRAME.lastIndex = 0
  const frame = CONFIG_FRAME.exec(stack)
  return frame === null ? undefined : fileURLToPath(frame[1]!)
}

let configHooksRegistered = false
/** The URLs (with their load's query) of the config files being imported now. */
const configUrls = new Set<string>()
/**
 * The files of a config's own that Node ran as CommonJS: those it require()s, and those it imports that are CommonJS
 * (a helper with no import or export, in a directory without "type": "module"). Node's CommonJS loader keeps them
 * by file name whatever the query, so they are taken out of its cache before every load to be run again, like the
 * config's ES modules.
 */
const commonJsHelpers = new Set<string>()
const requireCache = createRequire(import.meta.url).cache
const requireExtensions = createRequire(import.meta.url).extensions
/** The format Node's loader gave each file of commonJsHelpers when it last loaded it. */
const requiredFormats = new Map<string, string | undefined>()

function forgetCommonJsHelpers (): void {
  const forget = (file: string): void => {
    const entry = requireCache[file]
    if (entry === undefined || !isConfigOwn(pathToFileURL(file).href)) return
    delete requireCache[file]
    for (const child of entry.children) forget(child.filename)
  }
  for (const file of commonJsHelpers) forget(file)
}

/**
 * Node 24 require()s an ES module too, and keeps it by its URL in the ES module loader, out of reach of the CommonJS
 * cache forgotten at each load: a reload would run the first version again, so such a config is refused as a
 * CommonJS config is. A file this load required (still in the cache) is one if the loader said so (.mjs, a "type":
 * "module" package), or if its format was left to its syntax (.ts, .js outside a package that names one) and it
 * gave a module's namespace; a CommonJS file re-exporting a package's ES module is not.
 */
function refuseRequiredEsModules (): void {
  for (const file of commonJsHelpers) {
    const entry = requireCache[file]
    if (entry === undefined) continue
    const format = requiredFormats.get(file)
    const esm = format === 'module' || format === 'module-typescript' ||
      (format !== 'commonjs' && format !== 'commonjs-typescript' && format !== 'json' && types.isModuleNamespaceObject(entry.exports))
    if (esm) {
      throw new Error(`${file} is an ES module the config loads with require(), which Node runs only once, so a reload would not see it change: import it instead`)
    }
  }
}

/**
 * Whether a specifier names a file by its path (relative, absolute or a file: URL), not a package. A subpath import
 * ('#pools', package.json "imports") may name either, and is told by what it resolves to.
 */
function namesAFile (specifier: string): boolean {
  return /^\.\.?(\/|$)/.test(specifier) || specifier.startsWith('/') || specifier.startsWith('file:')
}

/** Whether a module is part of a config being loaded: imported with a load's query, or a file it require()d. */
function isConfigModule (url: string): boolean {
  if (url.includes(`?${LOAD_PARAM}=`)) return true
  return url.startsWith('file:') && commonJsHelpers.has(fileURLToPath(url))
}

/**
 * The file a path specifier names with every symlink on its way resolved now, for Node's resolver to take as
 * written: an ES import's URL (its own query kept), a require()'s path. Node's resolvers remember what a link led to
 * for the life of the process, and a Secret or ConfigMap mounted beside the config swaps its ..data link at every
 * update: the config would read the first version for ever, and fail once the kubelet deleted it. Undefined when no
 * file is found: Node's resolver then takes the specifier as it is, and its error stands. A require() of a directory
 * that names no file throws Node's MODULE_NOT_FOUND, and one whose package.json is no JSON object
 * ERR_INVALID_PACKAGE_CONFIG, rather than leave either to Node's resolver and what it read at an earlier load.
 */
function realSpecifier (specifier: string, parentUrl: string, requiring: boolean): string | undefined {
  try {
    const parent = new URL(parentUrl)
    parent.search = ''
    if (requiring) {
      if (specifier.startsWith('file:')) return undefined // not a path to CommonJS: Node's own error stands
      // require('./data') finds data.json, require('./lib') lib.js or the directory's "main" or index.js: tried
      // here as Node's CommonJS resolver tries them (LOAD_AS_FILE, then LOAD_AS_DIRECTORY), as its caches would keep
      // what a link led to. 'x/', '.' and '..' name a directory only.
      const base = resolve(dirname(fileURLToPath(parent)), specifier)
      const extensions = Object.keys(requireExtensions)
      const withExtensions = (path: string): string[] => [path, ...extensions.map((e) => path + e)]
      const directoryOnly = /(^|\/)\.{0,2}$/.test(specifier)
      const asFile = directoryOnly ? undefined : firstFile(withExtensions(base))
      if (asFile !== undefined) return asFile
      const main = packageMain(base) // resolved as Node does: an absolute "main" replaces the directory, a trailing '/' is dropped
      // refused here, not left to Node: its resolver would answer from the package.json it read at an earlier load
      if (main === REFUSED_PACKAGE) throw invalidPackageConfig(join(base, 'package.json'))
      const asDirectory = firstFile([
        ...(main === undefined ? [] : [...withExtensions(main), ...extensions.map((e) => join(main, `index${e}`))]),
        ...extensions.map((e) => join(base, `index${e}`)),
      ])
      // a directory that names no file is said here too: Node's resolver would answer from a package.json "main" it
      // read at an earlier load, since removed or changed. Anything else found nothing here, and is Node's to decide
      // (require.resolve's `paths`, which this search does not see).
      if (asDirectory === undefined && isDirectory(base)) throw moduleNotFound(specifier)
      return asDirectory
    }
    const url = new URL(specifier, parent)
    const { search, hash } = url
    url.search = url.hash = ''
    const real = realFile(fileURLToPath(url))
    return real === undefined ? undefined : `${pathToFileURL(real).href}${search}${hash}`
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === INVALID_PACKAGE_CONFIG || code === MODULE_NOT_FOUND || code === INVALID_ARG_VALUE) throw err
    return undefined // not a file: URL Node could resolve: its own error stands
  }
}

/** A directory's package.json that Node refuses to read (not a JSON object): requiring the directory fails. */
const REFUSED_PACKAGE = Symbol('refused package.json')
const INVALID_PACKAGE_CONFIG = 'ERR_INVALID_PACKAGE_CONFIG'

/** The error Node's resolver gives for such a package.json, with its code. */
function invalidPackageConfig (path: string): Error {
  return Object.assign(new Error(`Invalid package config ${path}.`), { code: INVALID_PACKAGE_CONFIG })
}

const MODULE_NOT_FOUND = 'MODULE_NOT_FOUND'
const INVALID_ARG_VALUE = 'ERR_INVALID_ARG_VALUE'

/** The error Node's require() gives for a specifier that names no file, with its code. */
function moduleNotFound (specifier: string): Error {
  return Object.assign(new Error(`Cannot find module '${specifier}'`), { code: MODULE_NOT_FOUND })
}

/**
 * The path the "main" of a directory's package.json names, if it names one (a byte order mark skipped, as Node does),
 * or REFUSED_PACKAGE when the file is there but is no JSON object: Node then refuses the directory, it does not fall
 * back to its index file.
 */
function packageMain (directory: string): string | undefined | typeof REFUSED_PACKAGE {
  let text: string
  try {
    text = readFileSync(join(directory, 'package.json'), 'utf8').replace(/^\uFEFF/, '')
  } catch {
    return undefined // no package.json (or not a file): Node looks for the index
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return REFUSED_PACKAGE
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return REFUSED_PACKAGE
  const main = mainAsNodeReadsIt(text)
  if (main === undefined || main === '') return undefined
  const path = resolve(directory, main)
  const nul = path.indexOf('\0')
  if (nul === -1) return path
  // Node looks for the "main" as a C string, up to the NUL: a file there it then refuses (its realpath takes no NUL);
  // anything else names nothing, and the directory's index is tried
  if (realFile(path.slice(0, nul)) !== undefined) throw Object.assign(new Error(`The "main" of ${join(directory, 'package.json')} contains a null byte`), { code: INVALID_ARG_VALUE })
  return undefined
}

/**
 * The "main" of a package.json (valid JSON, an object) as Node's own reader takes it, which is not JSON.parse's:
 * the last top-level key spelt `"main"` (no escapes: `"m\u0061in"` is another key to it) whose value is a string
 * (a key with another value is skipped, not taken as the last).
 */
function mainAsNodeReadsIt (text: string): string | undefined {
  let main: string | undefined
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
    else if (c === '"') {
      const end = stringEnd(text, i)
      if (depth === 1 && text.slice(i, end) === '"main"') {
        let at = end
        while (/\s/.test(text[at] ?? '')) at++
        if (text[at] === ':') {
          at++
          while (/\s/.test(text[at] ?? '')) at++
          if (text[at] === '"') main = JSON.parse(text.slice(at, stringEnd(text, at))) as string
        }
      }
      i = end - 1
    }
  }
  return main
}

/** The index just past the JSON string that starts at `start` (a '"'). */
function stringEnd (text: string, start: number): number {
  let i = start + 1
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
  return i + 1
}

/** The real path of the first of these paths that is a file, tried in order. */
function firstFile (paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const real = realFile(path)
    if (real !== undefined) return real
  }
  return undefined
}

/**
 * The real path of a file (symlinks resolved now, no cache), or undefined if there is none there. Anything but a
 * directory is a file, as Node's resolver takes it: /dev/null mounted over a file blanks it out.
 */
function realFile (path: string): string | undefined {
  try {
    const real = realpathSync.native(path)
    return statSync(real).isDirectory() ? undefined : real
  } catch {
    return undefined
  }
}

function isDirectory (path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** Whether a module is the config's own, to be read again at each load: not a package, nor the gateway's sources. */
function isConfigOwn (url: string): boolean {
  return url.startsWith('file:') && !url.startsWith(GATEWAY_SOURCES) && !url.includes('/node_modules/')
}

/**
 * Node keeps every module it imported for the life of the process, so a config's fresh query alone would leave the
 * modules it imports (`import { targets } from './pools.ts'`) as they were first read. A resolve hook gives a
 * relative import made from a module loaded with a load's query that same query: every file of the config's own
 * (transitively) is read again with it; a file the config require()s is forgotten by Node's CommonJS cache before
 * the next load. Packages (node_modules) and the gateway's own sources are left alone. A load hook refuses a config file that Node runs as CommonJS (module.exports): Node's CommonJS loader keeps
 * a module by its file name whatever the query, so a reload would run the first version again; a CommonJS helper
 * the config imports is noted, to be run again (forgetCommonJsHelpers).
 */
function registerConfigHooks (): void {
  if (configHooksRegistered) return
  configHooksRegistered = true
  registerHooks({
    resolve (specifier, context, nextResolve) {
      const parent = context.parentURL
      const subpath = specifier.startsWith('#')
      if (parent === undefined || !(subpath || namesAFile(specifier)) || !isConfigModule(parent)) return nextResolve(specifier, context)
      const requiring = context.conditions.includes('require')
      // '#pools' is no path (new URL('#pools', parent) is a fragment): Node maps it through package.json "imports",
      // and the file it leads to is the config's own (read again, as a relative import) or a package's (left alone)
      // (a symlink on its way is followed as Node's resolver first saw it, for the process's life: README)
      const resolved = subpath ? nextResolve(specifier, context) : nextResolve(realSpecifier(specifier, parent, requiring) ?? specifier, context)
      if (!isConfigOwn(resolved.url)) return resolved
      // require() (createRequire(import.meta.url)('./data.json')): Node's CommonJS cache keys a module by its file
      // name whatever the query, so it is noted and forgotten before the next load instead
      if (requiring) {
        commonJsHelpers.add(fileURLToPath(resolved.url))
        return resolved
      }
      const load = new URL(parent).searchParams.get(LOAD_PARAM)
      if (load === null) return resolved
      const url = new URL(resolved.url)
      // a query of the import's own ('./pools.mjs?v=1') is kept, the load's added beside it
      url.searchParams.set(LOAD_PARAM, load)
      return { ...resolved, url: url.href }
    },
    load (url, context, nextLoad) {
      const loaded = nextLoad(url, context)
      if (context.conditions.includes('require') && url.startsWith('file:') && !url.includes('?')) {
        const file = fileURLToPath(url)
        if (commonJsHelpers.has(file)) requiredFormats.set(file, loaded.format ?? undefined)
      }
      if ((loaded.format !== 'commonjs' && loaded.format !== 'commonjs-typescript') || !url.includes(`?${LOAD_PARAM}=`)) return loaded
      const file = fileURLToPath(url.slice(0, url.indexOf('?')))
      // Node takes a .ts or .js with no import or export for CommonJS: one with nothing of CommonJS in it either (empty
      // mid-save, only comments) has no export, and is said so rather than told to change a format it does not have
      if (configUrls.has(url) && !hasCommonJsMarkers(loaded.source ?? readFileSync(file))) throw new NoDefaultExport()
      if (configUrls.has(url)) throw new Error(`${file} is CommonJS (module.exports), which Node runs only once, so a reload would not see it change: use ESM (export default; a .mjs file, or "type": "module" in its package.json)`)
      commonJsHelpers.add(file)
      return loaded
    },
  })
}

/** Whether module source uses CommonJS (module.exports, exports.x, require()); comments are not told apart. */
function hasCommonJsMarkers (source: string | ArrayBuffer | NodeJS.TypedArray): boolean {
  const text = typeof source === 'string' ? source : Buffer.from(source as ArrayBuffer).toString('utf8')
  return /\bmodule\.exports\b|\bexports\s*[.[]|\brequire\s*\(/.test(text)
}

interface ExitGuard {
  /** What the config passed to a process.exit() it called during this load (as text), if it called one. */
  readonly exitCalled: string | undefined
  /** Ends this load's guard; process.exit is put back once no load's guard is left. Idempotent. */
  release (): void
}

/** The loads whose imports run (or were left behind by a time limit and still run), by load number. */
const guardedLoads = new Map<number, { exitCalled: string | undefined }>()
let realExit: typeof process.exit | undefined

/**
 * While a config is imported, process.exit() called from it (from a module loaded with a load's query) throws, so
 * the load fails with a problem that says why instead of the gateway exiting 0 with nothing logged; the call is
 * recorded against its load, so a config that catches the error is refused too. Anyone else's call (a shutdown that
 * ends meanwhile) exits as ever.
 */
function refuseExitFromConfig (load: number): ExitGuard {
  const state = { exitCalled: undefined as string | undefined }
  if (guardedLoads.size === 0) {
    const exit = realExit = process.exit
    process.exit = ((code?: number | string | null) => {
      const stack = fullStack()
      const loads = configLoadsOn(stack)
      // a CommonJS helper's frames name its file without the query: its load is one of those running
      if (loads.length === 0 && [...commonJsHelpers].some((file) => stack.includes(`${file}:`))) loads.push(...guardedLoads.keys())
      if (loads.length === 0) return exit.call(process, code)
      for (const n of loads) {
        const guarded = guardedLoads.get(n)
        if (guarded !== undefined) guarded.exitCalled ??= String(code ?? '')
      }
      throw exitRefusal(String(code ?? ''))
    }) as typeof process.exit
  }
  guardedLoads.set(load, state)
  return {
    get exitCalled () { return state.exitCalled },
    release: () => {
      if (!guardedLoads.delete(load)) return
      if (guardedLoads.size === 0 && realExit !== undefined) process.exit = realExit
    },
  }
}

/** The current stack, however deep the call to process.exit is below the config's own code. */
function fullStack (): string {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = Infinity
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = limit
  return stack
}

/** The load numbers of the config modules on a stack. */
function configLoadsOn (stack: string): number[] {
  return [...stack.matchAll(CONFIG_FRAME)].map((m) => Number(m[2]))
}

function exitRefusal (code: string): Error {
  return new Error(`the config called process.exit(${code}): a config may not end the gateway`)
}

/** One sentence for why a config file could not be loaded, with the line and column of a syntax error. */
export function describeLoadError (err: unknown, path: string): string {
  const e = err as { name?: string; message?: string; stack?: string }
  const message = (e.message ?? String(err)).split('\n')[0]!
  if (e.name !== 'SyntaxError') return `cannot load: ${message}`
  const head = syntaxErrorHead(e.stack ?? '')
  // Node's TypeScript stripping names the file it could not parse: a helper the config imports ('./pools.ts') is
  // named, or the operator would look for the error in the config
  if (head !== undefined && !namesConfig(head.file, path)) return `syntax error in ${head.file} at line ${head.line}, column ${head.column}: ${message}`
  const at = head ?? jsonPosition(message) ?? javaScriptPosition(path)
  return at === undefined ? `syntax error: ${message}` : `syntax error at line ${at.line}, column ${at.column}: ${message.replace(/ in JSON at position \d+.*$/, '')}`
}

/** Whether the file a stack names (a path, or a file: URL with a load's query) is the config at `path` (or where its link leads). */
function namesConfig (file: string, path: string): boolean {
  return file === path || file.endsWith(path) || file === realFile(path)
}

/**
 * The file, line and column a syntax error's stack starts with, when it starts with one: V8 and Node's TypeScript
 * stripping both start the stack with "file:line", the source line and a caret line.
 */
function syntaxErrorHead (stack: string): { file: string; line: number; column: number } | undefined {
  const at = caretPosition(stack)
  if (at === undefined) return undefined
  let file = at.file
  if (file.startsWith('file:')) {
    try {
      file = fileURLToPath(file.replace(/[?#].*$/, ''))
    } catch {
      return undefined
    }
  } else if (!file.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(file)) {
    return undefined // not a file's path ("SyntaxError: …:12")
  }
  return { ...at, file }
}

/** The "name:line" head of a stack (the name empty for stripTypeScriptTypes' own), the caret line giving the column. */
function caretPosition (stack: string): { file: string; line: number; column: number } | undefined {
  const lines = stack.split('\n')
  const head = /^(.*):(\d+)$/.exec(lines[0] ?? '')
  if (head === null) return undefined
  // the source excerpt may span lines; the caret line marks the column
  const caretLine = lines.slice(1, 6).find((l) => /^\s*\^+\s*$/.test(l))
  return { file: head[1]!, line: Number(head[2]), column: caretLine === undefined ? 1 : caretLine.indexOf('^') + 1 }
}

// V8 keeps an ES module's syntax error position to itself; Node's TypeScript parser (JavaScript is valid
// TypeScript) finds the same error and says where. Its one-time "experimental" warning is not for the operator.
function javaScriptPosition (path: string): { line: number; column: number } | undefined {
  if (path.endsWith('.json')) return undefined
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  try {
    stripTypeScriptTypes(readFileSync(path, 'utf8'))
    return undefined
  } catch (err) {
    const at = caretPosition(((err as Error).stack ?? '').split('\n').slice(0, 6).join('\n'))
    return at === undefined ? undefined : { line: at.line, column: at.column }
  } finally {
    process.emitWarning = emitWarning
  }
}

/**
 * Where and why JSON text is not JSON: 'syntax error at line L, column C: …'. V8's own message gives no position
 * for some errors (a trailing comma: "Unexpected token ']', ...": "a" }, ]" is not valid JSON") and quotes a
 * truncated excerpt, so the text is scanned here; undefined if the scan finds nothing wrong.
 */
export function jsonSyntaxError (text: string): string | undefined {
  let found: JsonFault | undefined
  try {
    found = jsonFault(text)
  } catch {
    return undefined // nested deeper than this scanner's stack: V8's message stands
  }
  if (found === undefined) return undefined
  const { offset, expected } = found
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  const line = countNewlines(text, offset) + 1
  const what = offset >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(text[offset])}`
  const trailingComma = /,\s*$/.test(text.slice(Math.max(0, offset - 64), offset)) && (text[offset] === ']' || text[offset] === '}')
  const hint = trailingComma ? 'JSON allows no comma before a closing bracket' : text[offset] === '\ufeff' ? 'a byte order mark: save the file as UTF-8 without one' : `expected ${expected}`
  return `syntax error at line ${line}, column ${offset - lineStart + 1}: ${what} (${hint})`
}

interface JsonFault { offset: number; expected: string }

/** The first offset at which `text` stops being JSON (RFC 8259), and what was expected there. */
function jsonFault (text: string): JsonFault | undefined {
  let i = 0
  const skipSpace = (): void => { while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++ }
  const fail = (expected: string): JsonFault => ({ offset: i, expected })
  const string = (): JsonFault | undefined => {
    i++ // the opening quote
    for (;;) {
      if (i >= text.length) return fail("a closing '\"'")
      const c = text.charCodeAt(i)
      if (c === 34 /* " */) { i++; return undefined }
      if (c < 0x20) return fail('no control character inside a string (write \\n, \\t)')
      if (c === 92 /* \ */) {
        i++
        if (/^["\\/bfnrt]$/.test(text[i] ?? '')) i++
        else if (text[i] === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 1, i + 5))) i += 5
        else return fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX')
      } else i++
    }
  }
  const number = (): JsonFault | undefined => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (m === null || m[0] === '' || m[0] === '-') return fail('a number')
    i += m[0].length
    return undefined
  }
  const value = (): JsonFault | undefined => {
    skipSpace()
    const c = text[i]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) { i += literal.length; return undefined }
    }
    return fail('a value')
  }
  const object = (): JsonFault | undefined => {
    i++
    skipSpace()
    if (text[i] === '}') { i++; return undefined }
    for (;;) {
      skipSpace()
      if (text[i] !== '"') return fail('a property name in double quotes')
      const key = string()
      if (key !== undefined) return key
      skipSpace()
      if (text[i] !== ':') return fail("':'")
      i++
      const inner = value()
      if (inner !== undefined) return inner
      skipSpace()
      if (text[i] === ',') { i++; continue }
      if (text[i] === '}') { i++; return undefined }
      return fail("',' or '}'")
    }
  }
  const array = (): JsonFault | undefined => {
    i++
    skipSpace()
    if (text[i] === ']') { i++; return undefined }
    for (;;) {
      const inner = value()
      if (inner !== undefined) return inner
      skipSpace()
      if (text[i] === ',') { i++; continue }
      if (text[i] === ']') { i++; return undefined }
      return fail("',' or ']'")
    }
  }
  const fault = value()
  if (fault !== undefined) return fault
  skipSpace()
  return i < text.length ? fail('the end of the file') : undefined
}

function countNewlines (text: string, end: number): number {
  let n = 0
  for (let at = text.indexOf('\n'); at !== -1 && at < end; at = text.indexOf('\n', at + 1)) n++
  return n
}

function jsonPosition (message: string): { line: number; column: number } | undefined {
  const m = /\(line (\d+) column (\d+)\)/.exec(message)
  return m === null ? undefined : { line: Number(m[1]), column: Number(m[2]) }
}
