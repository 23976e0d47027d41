// The Dockerfile's RUN that fills the compile cache must fail the build unless the cache was really filled. Its old
// guard (sleep 3, SIGTERM, `ls -A` of the cache) always passed: Node makes the cache's per-version directory at once,
// and a slow builder's gateway, killed before it listened, left that directory empty. No Docker engine runs here, so
// the RUN's own shell text is run with sh: with `node` on PATH a stand-in that plays each way a start can go (slow,
// dying, hanging, failing on SIGTERM, leaving no file), and once with the real gateway.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { writeConfig } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const IMAGE_CONFIG = '/etc/switchyard/routes.config.ts'
/** Longer than the real gateway's start on a busy machine; a guard still waiting then has failed (code null). */
const GIVE_UP_MS = 30_000

// the RUN instruction that starts the gateway, as Docker hands it to /bin/sh -c (continuation lines joined)
const instructions = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())
const fillRun = instructions.find((l) => l.startsWith('RUN ') && l.includes('src/start.mjs'))!.slice('RUN '.length)
// where the image keeps the cache (the RUN may name it literally): a directory of the test's in its place
const imageCache = /NODE_COMPILE_CACHE=(\S+)/.exec(instructions.filter((l) => l.startsWith('ENV ')).join(' '))![1]!
const timeoutArg = /^ARG COMPILE_CACHE_FILL_TIMEOUT_S=(\d+)$/m.exec(instructions.join('\n'))

/**
 * A stand-in for `node`: what it does is FAKE_NODE (each as a start of the gateway would): the per-version cache
 * directory is made at once, as enableCompileCache() does. `real` runs the real gateway on the test's config.
 */
const FAKE_NODE = `#!/bin/sh
if [ "$FAKE_NODE" = real ]; then
  for a; do shift; [ "$a" = "${IMAGE_CONFIG}" ] && a="$FILL_CONFIG"; set -- "$@" "$a"; done
  exec "$REAL_NODE" "$@"
fi
mkdir -p "$NODE_COMPILE_CACHE/v24-x64-1000"
listening () { echo '{"level":30,"msg":"switchyard listening on http://127.0.0.1:8080 (admin http://127.0.0.1:9901)"}'; }
case "$FAKE_NODE" in
  slow)
    # a busy builder: listening after 1.5 s, then the cache is written; SIGTERM is a graceful exit
    trap 'exit 0' TERM
    sleep 1.5; listening; echo cached > "$NODE_COMPILE_CACHE/v24-x64-1000/main.ts.cache"
    while :; do sleep 0.05; done ;;
  dies)
    echo 'switchyard: server.port: 8080 is in use' >&2; exit 1 ;;
  hangs)
    trap '' TERM
    while :; do sleep 0.05; done ;;
  fails-on-term)
    trap 'exit 1' TERM
    listening; echo cached > "$NODE_COMPILE_CACHE/v24-x64-1000/main.ts.cache"
    while :; do sleep 0.05; done ;;
  no-file)
    trap 'exit 0' TERM
    listening
    while :; do sleep 0.05; done ;;
esac
`

interface Outcome { code: number | null; output: string; ms: number }

/** Runs the RUN's shell text as Docker would, with the stand-in `node` first on PATH and the cache in `dir`. */
function runFill (dir: string, mode: string, extraEnv: Record<string, string> = {}): Promise<Outcome> {
  const bin = join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(join(bin, 'node'), FAKE_NODE)
  chmodSync(join(bin, 'node'), 0o755)
  const cache = join(dir, 'compile-cache')
  mkdirSync(cache, { recursive: true })
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    TMPDIR: dir, // mktemp's log file
    NODE_COMPILE_CACHE: cache,
    COMPILE_CACHE_FILL_TIMEOUT_S: timeoutArg?.[1] ?? '',
    FAKE_NODE: mode,
    ...extraEnv,
  }
  const started = performance.now()
  return new Promise((resolve, reject) => {
    // in a process group of its own: a guard that waits forever is killed with the stand-in it waits for
    const proc = spawn('/bin/sh', ['-c', fillRun.replaceAll(imageCache, cache)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    proc.stdout.on('data', (c: Buffer) => { output += c.toString() })
    proc.stderr.on('data', (c: Buffer) => { output += c.toString() })
    const killGroup = (): void => { try { process.kill(-proc.pid!, 'SIGKILL') } catch { /* all gone already */ } }
    const giveUp = setTimeout(killGroup, GIVE_UP_MS)
    proc.once('error', reject)
    // a stand-in the guard left running (it writes to the log file, not to these pipes) goes with it
    proc.once('exit', killGroup)
    proc.once('close', (code) => { clearTimeout(giveUp); resolve({ code, output, ms: performance.now() - started }) })
  })
}

t.test('the wait for the gateway is bounded by a build argument', async (t) => {
  t.ok(timeoutArg, 'ARG COMPILE_CACHE_FILL_TIMEOUT_S=<seconds>')
  t.notMatch(fillRun, /\bsleep [1-9]/, 'no fixed sleep in place of the listening line')
})

t.test('a slow start that listens and writes the cache passes once it did', async (t) => {
  const dir = t.testdir({})
  const run = await runFill(dir, 'slow')
  t.equal(run.code, 0, run.output)
  t.ok(run.ms >= 1500, `waited for the listening line (${Math.round(run.ms)} ms), not a fixed time`)
  t.strictSame(readdirSync(dir).filter((f) => f.startsWith('tmp.')), [], 'the log file is removed')
})

t.test('a gateway that exits before it listens fails the build', async (t) => {
  const run = await runFill(t.testdir({}), 'dies')
  t.equal(run.code, 1)
  t.match(run.output, /server\.port/, 'the gateway\'s own output is shown')
})

t.test('a gateway that never listens fails the build at COMPILE_CACHE_FILL_TIMEOUT_S', async (t) => {
  const run = await runFill(t.testdir({}), 'hangs', { COMPILE_CACHE_FILL_TIMEOUT_S: '1' })
  t.equal(run.code, 1)
  t.ok(run.ms < 10_000, `gave up after ${Math.round(run.ms)} ms`)
})

t.test('a gateway that does not exit 0 on SIGTERM fails the build', async (t) => {
  const run = await runFill(t.testdir({}), 'fails-on-term')
  t.equal(run.code, 1, run.output)
})

t.test('a cache with its per-version directory but no file fails the build', async (t) => {
  const run = await runFill(t.testdir({}), 'no-file')
  t.equal(run.code, 1, run.output)
})

t.test('the real gateway fills the cache and passes', async (t) => {
  const dir = t.testdir({})
  const config = join(dir, 'routes.config.json')
  writeConfig(config, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 1000 },
    pools: { p: { targets: ['http://127.0.0.1:1'] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const run = await runFill(dir, 'real', { REAL_NODE: NODE, FILL_CONFIG: config })
  t.equal(run.code, 0, run.output)
  const files = readdirSync(join(dir, 'compile-cache'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
  t.ok(files.length > 0, `the cache holds files (${files.length})`)
})
