// The production entry (npm start, the image): `node <flags> src/start.mjs [check] [--config FILE]` runs
// src/main.ts. Plain JavaScript, so Node reads it without its TypeScript stripper (a WebAssembly module,
// ~130 ms to load), and the compile cache is on before any .ts file is read: main.ts, the modules it imports
// and a routes.config.ts then come from the cache, already stripped, and the stripper is never loaded (the
// first start on a machine, or after an edit, strips them once). `node src/main.ts` works the same, with the
// stripper loaded for main.ts.
// Namespace imports: a Node without enableCompileCache (20) reaches the version check rather than a link error.
import * as nodeModule from 'node:module'
import { unsupportedNode } from './node-support.mjs'

const unsupported = unsupportedNode()
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`)
  process.exit(1)
}
const cache = nodeModule.enableCompileCache()
// named in the environment so a re-execution (src/lifecycle/node-flags.ts) finds it before reading any file
if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory
await import('./main.ts')
