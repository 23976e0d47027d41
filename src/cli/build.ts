// `npm run build` (and after `npm install`): bundles src/main.ts and its imports with esbuild into
// dist/switchyard.mjs, and records what it was built from (src/cli/prebuilt.ts says when main.ts runs it).
// `--optional`: a failed build is reported, never the install's failure: the sources run without it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { constants as http2Constants } from 'node:http2'
import { build, type Plugin } from 'esbuild'
import { BUNDLE_NAME, DIST, MANIFEST_NAME, ROOT, type Manifest } from './prebuilt.ts'

/** Loaded only when needed (or never) by the code, or with files of their own (pino's transports run in a worker). */
const EXTERNAL = ['esbuild', 'prom-client', '@fastify/under-pressure', 'pino', 'pino-pretty']

// Each bundled module keeps its source file's import.meta.url (app.ts reads ../package.json, the dashboard the
// sources beside it, prebuilt.ts finds dist/ from src/cli/). main.ts keeps the bundle's: so it knows it is the bundle.
const sourceMetaUrl: Plugin = {
  name: 'source-import-meta-url',
  setup (b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const url = pathToFileURL(args.path).href
      if (url === new URL('src/main.ts', ROOT).href) return { contents: source, loader: 'ts' }
      return { contents: source.replace(/\bimport\.meta\.url\b/g, JSON.stringify(url)), loader: 'ts' }
    })
  },
}

// undici's index requires all of undici (fetch, WebSocket, caches, mocks, proxy agents: ~110 modules, half the
// bundle) and the gateway uses its Client class, its connector and its error classes. In the bundle,
// `import { Client } from 'undici'` gets what the index does for it: the class, its request API on
// Dispatcher.prototype, and the global dispatcher it installs. Another name imported from 'undici' fails the
// build (then the sources run, whole undici and all).
const UNDICI_USED = ['Client', 'buildConnector', 'errors']
const undiciCore: Plugin = {
  name: 'undici-core',
  setup (b) {
    b.onResolve({ filter: /^undici$/ }, (args) => args.kind === 'import-statement' ? { path: 'undici', namespace: 'undici-core', pluginData: args.resolveDir } : undefined)
    b.onLoad({ filter: /.*/, namespace: 'undici-core' }, (args) => ({
      resolveDir: args.pluginData as string,
      loader: 'js',
      contents: [
        "import Client from 'undici/lib/dispatcher/client.js'",
        "import errors from 'undici/lib/core/errors.js'",
        "import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'",
        "import buildConnector from 'undici/lib/core/connect.js'",
        "import api from 'undici/lib/api/index.js'",
        "import 'undici/lib/global.js'",
        'Object.assign(Dispatcher.prototype, api)',
        `export { ${UNDICI_USED.join(', ')} }`,
      ].join('\n'),
    }))
  },
}

// Fastify's server.js and undici's HTTP/2 client require node:https and node:http2 when they load, and those two
// bring node:tls: ~35 ms of every start (bench/startup.ts) for what the gateway never runs (it makes its own
// HTTP/1.1 servers through serverFactory, and undici runs with allowH2: false). In the bundle those two files get
// them on first use instead. undici reads http2.constants when it loads: protocol values, copied here at build time.
export const LAZY_BUILTINS: Readonly<Record<string, readonly string[]>> = {
  'node:https': ['fastify/lib/server.js'],
  'node:http2': ['fastify/lib/server.js', 'undici/lib/dispatcher/client-h2.js'],
}
const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup (b) {
    const replaced = new Set<string>()
    b.onResolve({ filter: /^node:(https|http2)$/ }, (args) => {
      const importer = args.importer.replaceAll('\\', '/')
      const file = LAZY_BUILTINS[args.path]!.find((f) => importer.endsWith(`/node_modules/${f}`))
      if (file === undefined) return undefined
      replaced.add(`${args.path} ${file}`)
      return { path: args.path, namespace: 'lazy-builtin' }
    })
    // a dependency that moved its require is not an error (the module is then loaded at start, as before): said
    b.onEnd(() => {
      for (const [name, files] of Object.entries(LAZY_BUILTINS)) {
        for (const file of files) if (!replaced.has(`${name} ${file}`)) process.stderr.write(`switchyard: build: ${file} no longer requires ${name}; its lazy stand-in is unused\n`)
      }
    })
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      loader: 'js',
      contents: lazyBuiltinSource(args.path),
    }))
  },
}

// An ESM import of a Node builtin makes Node build the module's ESM facade, which reads every export, getters
// included: node:http's WebSocket, CloseEvent and MessageEvent getters then load Node's own copy of undici (and
// node:tls, node:http2, node:zlib and ~70 more internal modules: ~50 ms of every start), and node:fs's and
// node:util's load ~30 more each. require() reads no export until it is used, so in the bundle the sources'
// `import … from 'node:…'` become require() calls (esbuild gives named imports the CommonJS interop).
const builtinsRequired: Plugin = {
  name: 'builtins-required',
  setup (b) {
    b.onResolve({ filter: /^node:/ }, (args) => args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin-required' } : undefined)
    b.onLoad({ filter: /.*/, namespace: 'builtin-required' }, (args) => ({ loader: 'js', contents: `module.exports = require(${JSON.stringify(args.path)})` }))
  },
}

/** A module standing for a Node builtin that is required on first property access. */
export function lazyBuiltinSource (name: string): string {
  const eager = name === 'node:http2' ? `constants: ${JSON.stringify(http2Constants)}` : ''
  return [
    'let loaded',
    `module.exports = new Proxy({ ${eager} }, { get: (early, key) => Object.hasOwn(early, key) ? early[key] : (loaded ??= require(${JSON.stringify(name)}))[key] })`,
  ].join('\n')
}

/** Writes the bundle and its manifest into `dist`; returns how many files went in. */
export async function buildBundle (dist: URL = DIST): Promise<number> {
  const started = Date.now()
  const bundle = fileURLToPath(new URL(BUNDLE_NAME, dist))
  const manifest = fileURLToPath(new URL(MANIFEST_NAME, dist))
  mkdirSync(dist, { recursive: true })
  // until the new manifest is written, main.ts finds none and runs the sources
  rmSync(manifest, { force: true })
  const result = await build({
    absWorkingDir: fileURLToPath(ROOT),
    entryPoints: ['src/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile: bundle + '.tmp',
    external: EXTERNAL,
    metafile: true,
    logLevel: 'error',
    // a third smaller (no comments or indentation; names kept, so stack traces still name functions): every start
    // reads, decodes and compiles all of it
    minifyWhitespace: true,
    minifySyntax: true,
    // License comments go to their own file (dist/switchyard.mjs.LEGAL.txt): at the end of the bundle they put
    // the one non-ASCII character in it (undici's notice for formdata-polyfill), and Node then decodes all 2 MB as
    // a two-byte string and V8 scans and hashes that at every start.
    legalComments: 'external',
    // the bundled CommonJS packages require() Node's modules and the external packages
    banner: { js: "import { createRequire as __switchyardRequire } from 'node:module'; const require = __switchyardRequire(import.meta.filename);" },
    plugins: [sourceMetaUrl, undiciCore, lazyBuiltins, builtinsRequired],
  })
  // a dependency is judged by its package.json, which npm writes anew with every install or update (a file edited
  // by hand inside node_modules is not seen: run the build again); ~40 stats at every start instead of ~470
  const files = new Set(['src/cli/build.ts'])
  for (const file of Object.keys(result.metafile.inputs)) {
    // the undici shim and the lazy builtins are made by this file (in the manifest already)
    if (file.startsWith('undici-core:') || file.startsWith('lazy-builtin:') || file.startsWith('builtin-required:')) continue
    const pkg = /^(.*\bnode_modules\/(?:@[^/]+\/)?[^/]+\/)/.exec(file)
    files.add(pkg === null ? file : `${pkg[1]}package.json`)
  }
  const inputs: Manifest['inputs'] = {}
  for (const file of files) {
    const info = statSync(new URL(file, ROOT))
    // changed while esbuild read it: the bundle may hold either content, so it is not recorded as up to date
    if (info.mtimeMs >= started) throw new Error(`${file} changed during the build`)
    inputs[file] = [info.size, info.mtimeMs]
  }
  // esbuild writes the license file only when there are license comments
  if (existsSync(bundle + '.tmp.LEGAL.txt')) renameSync(bundle + '.tmp.LEGAL.txt', bundle + '.LEGAL.txt')
  else rmSync(bundle + '.LEGAL.txt', { force: true })
  renameSync(bundle + '.tmp', bundle)
  writeFileSync(manifest + '.tmp', JSON.stringify({ root: ROOT.href, inputs } satisfies Manifest))
  renameSync(manifest + '.tmp', manifest)
  return Object.keys(inputs).length
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const started = performance.now()
    const files = await buildBundle()
    process.stdout.write(`switchyard: bundled ${files} files into dist/${BUNDLE_NAME} in ${Math.round(performance.now() - started)} ms\n`)
  } catch (err) {
    process.stderr.write(`switchyard: no bundle built (${(err as Error).message}); src/main.ts runs from the sources\n`)
    if (!process.argv.includes('--optional')) process.exitCode = 1
  }
}
