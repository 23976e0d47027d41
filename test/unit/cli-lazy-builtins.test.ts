// The bundle's stand-ins for node:https and node:http2 (src/cli/build.ts): Node's module is loaded on first use,
// the copied HTTP/2 constants are Node's own, and the modules named as their importers still import them.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as http2 from 'node:http2'
import * as https from 'node:https'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { LAZY_BUILTINS, lazyBuiltinSource } from '../../src/cli/build.ts'

/** Evaluates a stand-in as the bundle does (CommonJS), counting the real requires it makes. */
function standIn (name: string): { exports: Record<string, unknown>; requires: string[] } {
  const requires: string[] = []
  const module = { exports: {} as Record<string, unknown> }
  const require = (id: string): unknown => { requires.push(id); return createRequire(import.meta.url)(id) }
  runInNewContext(lazyBuiltinSource(name), { module, require, Proxy, Object })
  return { exports: module.exports, requires }
}

t.test('node:http2 stands in with its constants, and is required on first other use', async (t) => {
  const lazy = standIn('node:http2')
  t.same(lazy.exports.constants, http2.constants, 'the copied constants are Node\'s')
  t.same(lazy.requires, [], 'reading the constants loads nothing')
  t.equal(lazy.exports.connect, http2.connect)
  t.equal(lazy.exports.createServer, http2.createServer)
  t.same(lazy.requires, ['node:http2'], 'required once')
})

t.test('node:https is required on first use', async (t) => {
  const lazy = standIn('node:https')
  t.same(lazy.requires, [])
  t.equal(lazy.exports.createServer, https.createServer)
  t.same(lazy.requires, ['node:https'])
})

t.test('each file named still requires the module (else the stand-in is dead weight)', async (t) => {
  for (const [name, files] of Object.entries(LAZY_BUILTINS)) {
    for (const file of files) {
      const source = readFileSync(new URL(`../../node_modules/${file}`, import.meta.url), 'utf8')
      t.match(source, `require('${name}')`, `${file} requires ${name}`)
    }
  }
})
