// The prebuilt bundle (`npm run build`, src/cli/build.ts) is the same gateway: built into a directory of its
// own, it is recorded as up to date, checks a config, serves traffic, answers /readyz and exits 0 on SIGTERM.
// A build that fails fails `npm run build` (exit 1), but not `npm install` (its postinstall passes --optional):
// the sources run without a bundle.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { cliEnv } from '../helpers/cli-process.ts'
import { buildBundle } from '../../src/cli/build.ts'
import { BUNDLE_NAME, freshBundle } from '../../src/cli/prebuilt.ts'
import { httpRequest } from './http.ts'
import { upstream } from './setup.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

t.test('the bundle serves like the sources', async (t) => {
  const u = await upstream(t, 'bundled')
  const dir = t.testdir({
    'run.config.json': JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      shutdown: { delayMs: 0, timeoutMs: 2000 },
      admin: { host: '127.0.0.1', port: 0 },
      pools: { bundled: { targets: [u.url], healthCheck: { path: '/health', intervalMs: 1000 } } },
      routes: [{ path: '/', pool: 'bundled' }],
    }),
  })
  const dist = pathToFileURL(join(dir, 'dist') + '/')
  t.ok(await buildBundle(dist) > 10, 'inputs recorded')
  const bundle = freshBundle(dist)
  t.equal(bundle?.href, new URL(BUNDLE_NAME, dist).href, 'recorded as up to date')

  // what makes a start slower without changing what runs (src/cli/build.ts): one non-ASCII character makes Node
  // decode the whole bundle as two-byte text, and an ESM import of a builtin builds its facade, which for node:http
  // loads Node's own undici
  const text = readFileSync(bundle!, 'latin1')
  t.notOk(/[^\x00-\x7f]/.test(text), 'ASCII only (license comments in their own file)')
  t.ok(existsSync(new URL(`${BUNDLE_NAME}.LEGAL.txt`, dist)), 'license comments kept')
  t.same([...text.matchAll(/\bimport\s*(?:\{[^}]*\}|[\w$*]+(?:\s+as\s+[\w$]+)?)\s*from\s*['"](node:[\w/]+)['"]/g)].map((m) => m[1]), ['node:module'],
    'builtins are required, not imported (only the banner imports node:module)')
  // zod's `z` object holds all of zod (40 locales, JSON Schema, codecs: 580 of the bundle's KB); the schema's
  // `import * as z` lets the build keep only what it uses. German's word for input stands for the locales.
  t.notOk(text.includes('Eingabe'), 'zod tree-shaken: no locale but English')
  t.ok(text.includes('Invalid input'), "zod's English messages kept")

  const check = spawn(NODE, [fileURLToPath(bundle!), 'check', '--config', 'test/fixtures/cli-valid.config.ts'], { cwd: ROOT, env: cliEnv() })
  let checked = ''
  check.stdout.on('data', (chunk: Buffer) => { checked += chunk.toString() })
  const [checkCode] = await new Promise<[number | null]>((resolve) => check.once('close', (code) => resolve([code])))
  t.equal(checkCode, 0)
  t.match(checked, /\/payment -> payment/)

  const proc = spawn(NODE, [fileURLToPath(bundle!), '--config', join(dir, 'run.config.json')], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const listening = new Promise<{ url: string; admin: string }>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>
      if (typeof record.msg === 'string' && record.msg.startsWith('switchyard listening on')) resolve({ url: record.url as string, admin: record.admin as string })
    })
    void exited.then(({ code }) => reject(new Error(`exited with ${code} before listening: ${stderr}`)))
  })
  const { url, admin } = await listening

  const res = await httpRequest(`${url}/hello`)
  t.equal(res.status, 200)
  t.equal(res.echo().name, 'bundled')
  // ready once the first health round is done
  let ready = 0
  for (let i = 0; i < 200 && ready !== 200; i++) {
    ready = (await httpRequest(`${admin}/readyz`)).status
    if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.equal(ready, 200, '/readyz')
  t.equal((await httpRequest(`${admin}/`)).status, 200, 'the dashboard page (read from the sources beside app.ts)')

  proc.kill('SIGTERM')
  const { code, signal } = await exited
  t.equal(signal, null, 'not killed by the signal')
  t.equal(code, 0, 'exits 0')
  t.notMatch(stderr, /\n\s+at /)
})

t.test('a failed build exits 1, and 0 with --optional (npm install\'s postinstall)', async (t) => {
  // a checkout of its own whose main.ts imports a file that is not there: esbuild cannot bundle it
  const dir = t.testdir({
    'package.json': JSON.stringify({ type: 'module' }),
    node_modules: t.fixture('symlink', join(ROOT, 'node_modules')),
    src: {
      'main.ts': "import './no-such-module.ts'\n",
      cli: {
        'build.ts': readFileSync(join(ROOT, 'src/cli/build.ts'), 'utf8'),
        'prebuilt.ts': readFileSync(join(ROOT, 'src/cli/prebuilt.ts'), 'utf8'),
      },
    },
  })
  for (const [args, expected] of [[[], 1], [['--optional'], 0]] as const) {
    const proc = spawn(NODE, [join(dir, 'src/cli/build.ts'), ...args], { cwd: dir, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] })
    t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
    let stderr = ''
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const [code] = await once(proc, 'close') as [number | null]
    t.equal(code, expected, `build.ts ${args.join(' ')}: exit ${expected}`)
    t.match(stderr, /switchyard: no bundle built/, 'the failure said')
  }
  t.notOk(existsSync(join(dir, 'dist', BUNDLE_NAME)), 'no bundle')
})
