// One sentence for why a config file could not be loaded, with the file, line and column of a syntax error.
import { readFileSync } from 'node:fs'
import { stripTypeScriptTypes } from 'node:module'
import { fileURLToPath } from 'node:url'
import { jsonPosition } from './json-syntax.ts'
import { realFile } from './real-specifier.ts'

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
