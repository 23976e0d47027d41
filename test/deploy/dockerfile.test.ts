// No Docker engine runs here, so the image's key properties are checked in the Dockerfile itself,
// and its HEALTHCHECK command is run with the same node against real servers.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { C_LIBRARY_ENV, NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { refusedPort } from '../helpers/refused-port.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
// one entry per instruction: continuation lines joined, comments and blank lines dropped
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const froms = instructions.filter((l) => l.startsWith('FROM '))
const finalStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!))
// the config baked into the image as its default
const defaultConfig = await loadConfigFile(join(ROOT, 'routes.config.ts'))

t.test('multi-stage build on the official Node 24 slim image', async (t) => {
  t.ok(froms.length >= 2, 'at least two stages')
  for (const from of froms) t.match(from, /^FROM node:24(\.\d+)*-slim\b/)
})

t.test('production dependencies only, from the lock file', async (t) => {
  t.ok(instructions.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)))
  t.ok(instructions.some((l) => /^COPY package\.json package-lock\.json/.test(l)))
})

t.test('runs as a non-root user', async (t) => {
  const users = instructions.filter((l) => l.startsWith('USER '))
  t.ok(users.length > 0)
  t.not(users.at(-1), 'USER root')
  t.ok(finalStage.includes(users.at(-1)!), 'USER is set in the final stage')
  // Kubernetes' runAsNonRoot refuses a named user it cannot resolve to a uid
  const uid = Number(users.at(-1)!.slice('USER '.length).split(':')[0])
  t.ok(Number.isInteger(uid) && uid > 0, 'a numeric, non-zero uid')
})

t.test('exec-form entrypoint so SIGTERM reaches node', async (t) => {
  const entry = instructions.find((l) => l.startsWith('ENTRYPOINT '))
  t.ok(entry)
  const argv = JSON.parse(entry!.slice('ENTRYPOINT '.length)) as string[]
  t.equal(argv[0], 'node')
  t.same(argv.slice(1, -1), NODE_FLAGS, 'the V8 flags the gateway ships with')
  t.equal(argv.at(-1), 'src/start.mjs')
})

const shippedEnv = Object.entries(C_LIBRARY_ENV).map(([name, value]) => `${name}=${value}`)

t.test('the image sets the C library settings the gateway ships with', async (t) => {
  const env = finalStage.filter((l) => l.startsWith('ENV ')).join(' ')
  for (const pair of shippedEnv) t.ok(env.split(/\s+/).includes(pair), pair)
})

t.test('npm start runs with the same V8 flags and C library settings', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  // exec: npm signals the shell it runs the script in, and dash does not pass SIGTERM on (review r41b: npm exited
  // 143 and the gateway ran on, reparented, undrained); node replacing the shell gets it
  t.equal(pkg.scripts.start, `${shippedEnv.join(' ')} exec node ${NODE_FLAGS.join(' ')} src/start.mjs --config routes.config.ts`)
})

t.test('config read from /etc/switchyard/routes.config.ts by default', async (t) => {
  t.match(dockerfile, /SWITCHYARD_CONFIG=\/etc\/switchyard\/routes\.config\.ts/)
  t.match(dockerfile, /COPY routes\.config\.ts \/etc\/switchyard\/routes\.config\.ts/)
})

t.test('exposes the public and the admin port of the default config', async (t) => {
  const exposed = finalStage.filter((l) => l.startsWith('EXPOSE ')).flatMap((l) => l.split(/\s+/).slice(1)).map((p) => Number.parseInt(p, 10))
  t.same(exposed.toSorted((a, b) => a - b), [defaultConfig.server.port, defaultConfig.admin.port].toSorted((a, b) => a - b))
  t.same([defaultConfig.server.port, defaultConfig.admin.port], [8080, 9901])
})

t.test('the build context leaves out host modules, git and secrets', async (t) => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
  for (const entry of ['node_modules', '.git', '.env', '.env.*']) t.ok(ignored.includes(entry), entry)
})

// HEALTHCHECK [options] CMD ["node", "-e", "<script>"], in the final stage
const healthcheck = finalStage.filter((l) => l.startsWith('HEALTHCHECK '))
const healthMatch = /^HEALTHCHECK\s+((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(healthcheck[0] ?? '')
const healthOptions = Object.fromEntries([...(healthMatch?.[1] ?? '').matchAll(/--([a-z-]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]))
const healthArgv = healthMatch ? JSON.parse(healthMatch[2]!) as string[] : []
const healthUrl = /https?:\/\/[^'"`\s]+/.exec(healthArgv[2] ?? '')?.[0] ?? ''
const seconds = (d: string | undefined): number => Number(/^(\d+(?:\.\d+)?)s$/.exec(d ?? '')?.[1] ?? Number.NaN)

t.test('HEALTHCHECK: exec-form node -e, admin /healthz on loopback (the slim image has no curl)', async (t) => {
  t.equal(healthcheck.length, 1, 'one HEALTHCHECK, in the final stage')
  t.ok(healthMatch, 'exec form: CMD ["…"]')
  t.same(healthArgv.slice(0, 2), ['node', '-e'])
  t.ok(URL.canParse(healthUrl), 'the script fetches a URL')
  const url = new URL(healthUrl)
  t.equal(url.hostname, '127.0.0.1')
  t.equal(Number(url.port), defaultConfig.admin.port, 'the default config\'s admin port')
  t.equal(url.pathname, '/healthz')
  t.ok(seconds(healthOptions.timeout) > 0, '--timeout is set')
  t.ok(seconds(healthOptions.interval) > 0, '--interval is set')
})

/** Runs the HEALTHCHECK script with its URL pointed at `port`; resolves to the exit code and when it exited. */
function runHealthcheck (port: number): Promise<{ code: number | null; exitedAt: number }> {
  const url = new URL(healthUrl)
  url.port = String(port)
  const script = healthArgv[2]!.replaceAll(healthUrl, url.href)
  const env = { ...process.env }
  delete env.NODE_OPTIONS // the test runner's hooks are not part of the image
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, ['-e', script], { env, stdio: 'ignore' })
    // a script without its own timeout would wait for undici's 300 s: stop it, and it shows as code null
    const stop = setTimeout(() => proc.kill(), 20_000)
    proc.once('error', reject)
    proc.once('close', (code) => { clearTimeout(stop); resolve({ code, exitedAt: performance.now() }) })
  })
}

async function listen (t: Test, handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server: Server = createServer(handler)
  const sockets = new Set<Socket>()
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

t.test('HEALTHCHECK script: exit 0 on 200; 1 on 503, refused, or hung (before Docker\'s --timeout)', async (t) => {
  const requests: string[] = []
  const ok = await listen(t, (req, res) => { requests.push(req.url ?? ''); res.end('ok') })
  const unready = await listen(t, (_req, res) => { res.statusCode = 503; res.end() })
  let hungAskedAt = Number.NaN
  const hung = await listen(t, () => { hungAskedAt = performance.now() /* and never answers */ })
  const refused = await refusedPort()

  const [okRun, unreadyRun, refusedRun, hungRun] = await Promise.all([ok, unready, refused, hung].map(runHealthcheck))
  t.equal(okRun!.code, 0, '200: healthy')
  t.same(requests, ['/healthz'])
  t.equal(unreadyRun!.code, 1, '503: unhealthy')
  t.equal(refusedRun!.code, 1, 'refused: unhealthy')
  t.equal(hungRun!.code, 1, 'no answer: unhealthy')
  // measured from the request, so node's own start-up (slow on a loaded machine) is not counted
  const gaveUpAfter = hungRun!.exitedAt - hungAskedAt
  t.ok(gaveUpAfter < seconds(healthOptions.timeout) * 1000, `a hung probe gives up (${Math.round(gaveUpAfter)} ms) within Docker's --timeout`)
})

t.test('the image carries the prebuilt bundle, built from the sources it copies', async (t) => {
  const copySrc = instructions.findIndex((l) => /^COPY src \.\/src/.test(l))
  const build = instructions.findIndex((l) => /^RUN node src\/cli\/build\.ts/.test(l))
  const user = instructions.findIndex((l) => l.startsWith('USER '))
  t.ok(copySrc >= 0 && build > copySrc, 'built after the sources are in')
  t.ok(build < user, 'as root, before the unprivileged user takes over (dist/ is written beside src/)')
})

t.test('the compile cache is filled at build time by a start as the entrypoint runs it', async (t) => {
  const env = finalStage.filter((l) => l.startsWith('ENV ')).join(' ')
  const dir = /NODE_COMPILE_CACHE=(\S+)/.exec(env)?.[1]
  t.ok(dir !== undefined && dir.startsWith('/app/'), `NODE_COMPILE_CACHE in the image, not in a pod's /tmp: ${dir}`)
  const warm = finalStage.find((l) => l.startsWith('RUN ') && l.includes('src/start.mjs'))
  t.ok(warm, 'a RUN starts the gateway')
  t.ok(warm!.includes(`${NODE_FLAGS.join(' ')} src/start.mjs`), 'with the entrypoint\'s flags (one process, no re-execution)')
  // Node keeps one cache per uid (a directory named …-<uid>): one filled as root is never read by uid 1000
  const user = finalStage.findLast((l) => l.startsWith('USER '))!
  t.ok(finalStage.indexOf(user) < finalStage.indexOf(warm!), 'as the user the container runs as')
  const uid = user.slice('USER '.length).split(':')[0]!
  t.ok(finalStage.some((l, i) => i < finalStage.indexOf(user) && l.startsWith('RUN ') && l.includes(`chown ${uid}`) && l.includes(dir ?? '-')), 'in a directory that user owns')
  t.ok(finalStage.findIndex((l) => l.startsWith('ENV ') && l.includes('NODE_COMPILE_CACHE')) < finalStage.indexOf(warm!), 'with the cache named first')
})
