// Loads a routes.config.ts (or .js/.mjs/.json) file from anywhere on disk and validates it.
import { readFileSync } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { stripTypeScriptTypes } from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.ts'
import { bytesHash } from './hash.ts'
import type { ResolvedConfig } from './schema.ts'
import { validateConfig } from './validate.ts'

let loadCount = 0
// Node never unloads an ES module, so every import of a config stays in memory for good. Imports that succeeded are
// keyed by the file's real URL and a hash of its bytes: reloading an unchanged file (SIGHUP, POST /reload), or going
// back to an earlier version, reuses what that content gave and imports nothing. The cache holds no more than the
// module map already does: one entry per distinct content ever loaded. (So a config that reads other files when it
// runs sees their changes once its own bytes change.) A failure is never kept: what it lacked may be there next time.
const imports = new Map<string, Promise<unknown>>()

export async function loadConfigFile (file: string): Promise<ResolvedConfig> {
  const path = resolve(file)
  const info = await stat(path).catch(() => undefined)
  if (info === undefined) throw new ConfigError(['no such file'], path)
  if (!info.isFile()) throw new ConfigError(['is not a file'], path)
  let exported: unknown
  let text: string | undefined
  try {
    if (path.endsWith('.json')) {
      text = await readFile(path, 'utf8')
      exported = JSON.parse(text)
    } else {
      exported = await importConfig(path)
    }
  } catch (err) {
    const problem = text !== undefined && (err as Error).name === 'SyntaxError' ? jsonSyntaxError(text) : undefined
    throw new ConfigError([problem ?? describeLoadError(err, path)], path)
  }
  if (exported === undefined) throw new ConfigError(['has no default export'], path)
  return validateConfig(exported, path)
}

async function importConfig (path: string): Promise<unknown> {
  // The real path, resolved at every load: Node's resolver keeps what a symlink led to for the life of the process,
  // so once a Kubernetes ConfigMap swapped its ..data link the config's path would still lead to the old (deleted)
  // directory. Relative imports resolve from the real directory, where a ConfigMap's other files are too.
  const real = await realpath(path)
  const url = pathToFileURL(real).href
  const hash = bytesHash(await readFile(real))
  const key = `${url}#${hash}`
  const cached = imports.get(key)
  if (cached !== undefined) return cached
  // a fresh query string for new content: ESM caches modules by URL, and a reload must see the new file
  const imported = import(`${url}?load=${++loadCount}`).then((mod: { default?: unknown }) => mod.default)
  imports.set(key, imported)
  const forget = (): void => { if (imports.get(key) === imported) imports.delete(key) }
  try {
    return await imported
  } catch (err) {
    forget()
    throw err
  } finally {
    // the file changed while it was imported: what came back may be either version, so keep it for neither
    if (await readFile(real).then(bytesHash, () => undefined) !== hash) forget()
  }
}

/** One sentence for why a config file could not be loaded, with the line and column of a syntax error. */
export function describeLoadError (err: unknown, path: string): string {
  const e = err as { name?: string; message?: string; stack?: string }
  const message = (e.message ?? String(err)).split('\n')[0]!
  if (e.name !== 'SyntaxError') return `cannot load: ${message}`
  const at = syntaxErrorPosition(e.stack ?? '', path) ?? jsonPosition(message) ?? javaScriptPosition(path)
  return at === undefined ? `syntax error: ${message}` : `syntax error at line ${at.line}, column ${at.column}: ${message.replace(/ in JSON at position \d+.*$/, '')}`
}

// V8 and Node's TypeScript stripping both start the stack with "file:line", the source line and a caret line.
function syntaxErrorPosition (stack: string, path: string): { line: number; column: number } | undefined {
  const lines = stack.split('\n')
  const head = /^(.*):(\d+)$/.exec(lines[0] ?? '')
  if (head === null || (path !== '' && !head[1]!.endsWith(path) && !head[1]!.includes(pathToFileURL(path).pathname))) return undefined
  // the source excerpt may span lines; the caret line marks the column
  const caretLine = lines.slice(1, 6).find((l) => /^\s*\^+\s*$/.test(l))
  return { line: Number(head[2]), column: caretLine === undefined ? 1 : caretLine.indexOf('^') + 1 }
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
    return syntaxErrorPosition(':' + ((err as Error).stack ?? '').split('\n').slice(0, 6).join('\n').replace(/^:+/, ''), '')
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
