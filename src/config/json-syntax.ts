// Where and why a JSON config's text is not JSON, as V8's own message does not always say.

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

/** The line and column V8's message gives, when it gives them. */
export function jsonPosition (message: string): { line: number; column: number } | undefined {
  const m = /\(line (\d+) column (\d+)\)/.exec(message)
  return m === null ? undefined : { line: Number(m[1]), column: Number(m[2]) }
}
