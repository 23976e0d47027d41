// No source file imports a value from node:http as an ES module. Node builds the module's ESM view by reading
// every export, getters included, and node:http's WebSocket, CloseEvent and MessageEvent getters load Node's own
// copy of undici with ~70 more internal modules: ~50 ms of every start and ~8 MiB of resident memory, for nothing
// the gateway uses. Type imports are erased and cost nothing; values come from src/node-http.ts.
// (The bundle is protected by its build, which turns every builtin import into require(): test/proxy/prebuilt.test.ts.)
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))


/** The import statements of `source` that bring a value (not only types) from `module`. */
function valueImports (source: string, module: string): string[] {
  const found: string[] = []
  for (const m of source.matchAll(/^import\s+(type\s+)?([^'"]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    if (m[3] !== module || m[1] !== undefined) continue
    const clause = m[2]!
    // `import { type A, type B } from …` brings only types too
    const named = /^\{([^}]*)\}$/.exec(clause.trim())
    if (named !== null && named[1]!.split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue
    found.push(m[0])
  }
  return found
}

t.test('the check tells value imports from type imports', async (t) => {
  t.same(valueImports("import type { IncomingMessage } from 'node:http'\n", 'node:http'), [])
  t.same(valueImports("import { type IncomingMessage } from 'node:http'\n", 'node:http'), [])
  t.equal(valueImports("import { METHODS, type IncomingMessage } from 'node:http'\n", 'node:http').length, 1)
  t.equal(valueImports("import * as http from 'node:http'\n", 'node:http').length, 1)
  t.equal(valueImports("import http from \"node:http\"\n", 'node:http').length, 1)
  t.same(valueImports("import { createServer } from 'node:https'\n", 'node:http'), [])
})

t.test('no source file imports a value from node:http', async (t) => {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => /\.(ts|mjs)$/.test(file))
  const offenders = files.flatMap((file) => valueImports(readFileSync(join(SRC, file), 'utf8'), 'node:http').map((line) => `${file}: ${line}`))
  t.same(offenders, [])
})
