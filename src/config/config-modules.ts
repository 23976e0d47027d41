// A code config (.ts, .mjs, .js) imported afresh at every load: a load's query on its URL and on every module of its
// own it imports (resolve hook), its CommonJS helpers forgotten by Node's cache, CommonJS configs and required ES
// modules refused (a reload would not see them change), process.exit() from it refused, and a time limit.
import { readFileSync } from 'node:fs'
import { createRequire, registerHooks } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { types } from 'node:util'
import { realSpecifier } from './real-specifier.ts'

/** Thrown by the load hook for a config file with no export at all (empty, only comments), which Node runs as CommonJS. */
export class NoDefaultExport extends Error {}

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

export async function importConfig (real: string, timeoutMs: number): Promise<unknown> {
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
let loadCount = 0
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
