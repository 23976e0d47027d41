// Where a config's own import or require() leads, with every symlink on its way resolved at this load (Node's
// resolvers keep what a link led to for the process's life; a ConfigMap swaps its ..data link at every update).
import { readFileSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const requireExtensions = createRequire(import.meta.url).extensions

/**
 * The file a path specifier names with every symlink on its way resolved now, for Node's resolver to take as
 * written: an ES import's URL (its own query kept), a require()'s path. Node's resolvers remember what a link led to
 * for the life of the process, and a Secret or ConfigMap mounted beside the config swaps its ..data link at every
 * update: the config would read the first version for ever, and fail once the kubelet deleted it. Undefined when no
 * file is found: Node's resolver then takes the specifier as it is, and its error stands. A require() of a directory
 * that names no file throws Node's MODULE_NOT_FOUND, and one whose package.json is no JSON object
 * ERR_INVALID_PACKAGE_CONFIG, rather than leave either to Node's resolver and what it read at an earlier load.
 */
export function realSpecifier (specifier: string, parentUrl: string, requiring: boolean): string | undefined {
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
export function realFile (path: string): string | undefined {
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
