// npm run soak [-- --minutes N] (default 10; not in CI): steady load at ~50% of the measured capacity for N
// minutes, with a config reload every 15 s, one target killed (connections reset, port refused) and restarted
// every 30 s, client aborts and streamed 1 MiB uploads. Prints a table every minute; exits 1 if a request that
// should have succeeded failed, or the gateway's RSS grew more than 10% after the first minute.
//
// The gateway is the real CLI (`node <NODE_FLAGS> src/start.mjs --config FILE`, as npm start and the image run it) in a process of its
// own, with its access log to a file; its RSS and fds come from /proc/<pid>, its heap and event-loop delay from
// its own /metrics. Reloads rewrite the config file and ask the admin API. The three upstreams run in a process
// of their own (scripts/soak/upstreams.ts), so a stall of this one, which generates the load, never looks like a
// dead target to the gateway's health checks. A failure counts as expected only when it cannot be the gateway's fault: the client aborted,
// or the request was in flight at the moment a target was killed.
import { fork, spawn } from 'node:child_process'
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { GatewayConfig } from '../src/config/schema.ts'
import { C_LIBRARY_ENV, NODE_FLAGS } from '../src/lifecycle/node-flags.ts'
import { sumSamples } from './stress/gateway-process.ts'

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string' } } })
const minutes = Number(values.minutes)
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes must be a positive number')

const KILL_EVERY_MS = 30_000
const DOWN_FOR_MS = 5_000
const RELOAD_EVERY_MS = 15_000
const UPLOAD_EVERY_MS = 2_000
const UPLOAD_BYTES = 1024 * 1024
const ABORT_SHARE = 0.05

type Kind = 'ok' | 'status' | 'network' | 'aborted' | 'killed'

interface Minute {
  started: number
  requests: number
  kinds: Record<Kind, number>
  latencies: number[]
}

const newMinute = (): Minute => ({ started: performance.now(), requests: 0, kinds: { ok: 0, status: 0, network: 0, aborted: 0, killed: 0 }, latencies: [] })

function config (variant: number): GatewayConfig {
  return {
    log: { level: 'info', destination: accessLog },
    server: { host: '127.0.0.1', port: gatewayPort },
    admin: { host: '127.0.0.1', port: adminPort },
    pools: {
      app: {
        targets: upstreams.urls,
        healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 400, unhealthyThreshold: 1, healthyThreshold: 1, jitter: 0 },
        connections: { maxPerTarget: 64 },
        // the reload alternates a real change, so each one is applied (not 'unchanged')
        retry: { attempts: 3, backoff: { baseMs: 20 + (variant % 2) * 5, maxMs: 250 } },
      },
    },
    routes: [{ path: '/upload', pool: 'app', maxBodyBytes: 8 * UPLOAD_BYTES }, { path: '/', pool: 'app' }],
  }
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'switchyard-soak-'))
const configFile = join(dir, 'soak.config.json')
const accessLog = join(dir, 'access.log')
const gatewayPort = await freePort()
const adminPort = await freePort()
const adminUrl = `http://127.0.0.1:${adminPort}`
const port = String(gatewayPort)
const upstreams = await startUpstreams(3)
let variant = 0
writeFileSync(configFile, JSON.stringify(config(variant)))
const child = spawn(join(ROOT, 'node_modules/.bin/node'), [...NODE_FLAGS, 'src/start.mjs', '--config', configFile], { cwd: ROOT, env: { ...process.env, ...C_LIBRARY_ENV }, stdio: ['ignore', 'inherit', 'inherit'] })
const childExited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
process.on('exit', () => { child.kill('SIGKILL') })
for (let tries = 0; ; tries++) {
  const ready = await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false)
  if (ready) break
  if (tries > 200 || child.exitCode !== null) throw new Error('the gateway did not become ready within 20 s')
  await new Promise((resolve) => setTimeout(resolve, 100))
}

interface Upstreams {
  readonly urls: string[]
  /** Stops upstream i: its connections reset, its port refuses. */
  refuse (index: number): Promise<void>
  /** Upstream i listens again on its port (nothing when it already does). */
  restore (index: number): Promise<void>
  close (): Promise<void>
}

async function startUpstreams (count: number): Promise<Upstreams> {
  const proc = fork(new URL('./soak/upstreams.ts', import.meta.url), [String(count)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  process.on('exit', () => { proc.kill('SIGKILL') })
  const { urls } = await new Promise<{ urls: string[] }>((resolve, reject) => {
    proc.once('message', resolve)
    proc.once('exit', (code) => reject(new Error(`the upstreams' process exited (${code}) before it was ready`)))
  })
  // one command at a time: each answer is the next 'done'
  let queue = Promise.resolve()
  const ask = (type: 'refuse' | 'restore', index: number): Promise<void> => {
    queue = queue.then(() => new Promise<void>((resolve) => {
      proc.once('message', () => resolve())
      proc.send({ type, index })
    }))
    return queue
  }
  return {
    urls,
    refuse: (index) => ask('refuse', index),
    restore: (index) => ask('restore', index),
    close: () => new Promise<void>((resolve) => {
      proc.once('exit', () => resolve())
      proc.disconnect()
    }),
  }
}

/** Reload: the next variant of the config file, applied through the admin API. */
async function reload (): Promise<boolean> {
  writeFileSync(configFile, JSON.stringify(config(++variant)))
  const res = await fetch(`${adminUrl}/reload`, { method: 'POST' })
  const body = await res.json() as { result?: string }
  return res.ok && body.result !== 'error'
}

/** The gateway process's RSS, open fds, and (from its /metrics) heap used and event-loop delay p99. */
async function gatewayFigures (): Promise<{ rss: number; fds: number; heapUsed: number; loopP99Ms: number }> {
  const pid = child.pid!
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  const fds = readdirSync(`/proc/${pid}/fd`).length
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
  const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN)
  return { rss, fds, heapUsed: metric('nodejs_heap_size_used_bytes'), loopP99Ms: metric('nodejs_eventloop_lag_p99_seconds') * 1000 }
}

const agent = new Agent({ keepAlive: true, maxSockets: 512 })

/** Requests in flight, with the target they were sent to not known: a kill marks every one in flight. */
const inFlight = new Set<{ killed: boolean }>()
/** Failed requests' statuses by status and path (those at a kill said so), printed at the end. */
const statuses = new Map<string, number>()

function send (method: 'GET' | 'POST', path: string, options: { abortAfterMs?: number; body?: Readable } = {}): Promise<{ kind: Kind; ms: number }> {
  const started = performance.now()
  const mark = { killed: false }
  inFlight.add(mark)
  return new Promise((resolve) => {
    let settled = false
    const done = (kind: Kind): void => {
      if (settled) return
      settled = true
      inFlight.delete(mark)
      // a kill while it was in flight is the test's doing, not the gateway's
      resolve({ kind: kind !== 'ok' && kind !== 'aborted' && mark.killed ? 'killed' : kind, ms: performance.now() - started })
    }
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      // an error answer is kept to name its code; a 200's body is dropped
      let body = ''
      if (res.statusCode === 200) res.resume()
      else res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      res.once('end', () => {
        if (res.statusCode !== 200) {
          const code = /"error":"([a-z_]+)"/.exec(body)?.[1] ?? 'no code'
          const key = `${res.statusCode} ${code} ${path.startsWith('/upload') ? 'upload' : 'GET'}${mark.killed ? ' (at a kill: expected)' : ''}`
          statuses.set(key, (statuses.get(key) ?? 0) + 1)
        }
        done(res.statusCode === 200 ? 'ok' : 'status')
      })
      res.once('error', () => done(options.abortAfterMs !== undefined ? 'aborted' : 'network'))
    })
    req.once('error', () => done(options.abortAfterMs !== undefined ? 'aborted' : 'network'))
    if (options.abortAfterMs !== undefined) setTimeout(() => { req.destroy(); done('aborted') }, options.abortAfterMs)
    if (options.body !== undefined) options.body.pipe(req)
    else req.end()
  })
}

function uploadBody (): Readable {
  let left = UPLOAD_BYTES
  const chunk = Buffer.alloc(64 * 1024, 'u')
  return new Readable({
    read () {
      if (left <= 0) return this.push(null)
      const n = Math.min(chunk.length, left)
      left -= n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    },
  })
}

async function measureCapacity (): Promise<number> {
  const until = performance.now() + 3000
  let done = 0
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (performance.now() < until) {
      const r = await send('GET', '/capacity')
      if (r.kind === 'ok') done++
    }
  }))
  return done / 3
}

function p99 (values: number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!
}

const capacity = await measureCapacity()
const rate = values.rate !== undefined ? Number(values.rate) : Math.max(10, Math.round(capacity * 0.5))
process.stdout.write(`capacity ≈ ${capacity.toFixed(0)} req/s (GET, 32 concurrent); soaking at ${rate} req/s for ${minutes} min\n`)
process.stdout.write('| min | req/s | ok | 5xx/4xx | network | aborted (expected) | killed (expected) | p99 ms | RSS MiB | heap MiB | fds | loop p99 ms | reloads ok/err |\n')
process.stdout.write('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n')

let minute = newMinute()
const totals: Record<Kind, number> = { ok: 0, status: 0, network: 0, aborted: 0, killed: 0 }
const reloads = { ok: 0, error: 0 }
const rssAtMinute: number[] = []
const pending = new Set<Promise<unknown>>()
const track = (p: Promise<{ kind: Kind; ms: number }>, latency: boolean): void => {
  minute.requests++
  const bucket = minute
  const tracked = p.then((r) => {
    bucket.kinds[r.kind]++
    totals[r.kind]++
    if (latency && r.kind === 'ok') bucket.latencies.push(r.ms)
  })
  pending.add(tracked)
  void tracked.finally(() => pending.delete(tracked))
}

const soakStart = performance.now()
const soakEnd = soakStart + minutes * 60_000
let launched = 0
let killIndex = 0
const timers: NodeJS.Timeout[] = []
timers.push(setInterval(() => {
  const index = killIndex++ % upstreams.urls.length
  // in flight when the kill was asked for, or sent while it was carried out (the upstreams' process closes the
  // port and resets the connections a few ms later): either may meet the reset
  for (const mark of inFlight) mark.killed = true
  void upstreams.refuse(index).then(() => {
    for (const mark of inFlight) mark.killed = true
    setTimeout(() => { void upstreams.restore(index) }, DOWN_FOR_MS)
  })
}, KILL_EVERY_MS))
timers.push(setInterval(() => {
  void reload().then((ok) => { if (ok) reloads.ok++; else reloads.error++ }, () => { reloads.error++ })
}, RELOAD_EVERY_MS))
timers.push(setInterval(() => track(send('POST', '/upload/file', { body: uploadBody() }), false), UPLOAD_EVERY_MS))

const report = async (index: number): Promise<void> => {
  const seconds = (performance.now() - minute.started) / 1000
  const done = minute
  minute = newMinute()
  const g = await gatewayFigures()
  rssAtMinute.push(g.rss)
  const k = done.kinds
  process.stdout.write(`| ${index} | ${(done.requests / seconds).toFixed(0)} | ${k.ok} | ${k.status} | ${k.network} | ${k.aborted} | ${k.killed} | ${p99(done.latencies).toFixed(1)} | ${(g.rss / 2 ** 20).toFixed(0)} | ${(g.heapUsed / 2 ** 20).toFixed(0)} | ${g.fds} | ${g.loopP99Ms.toFixed(1)} | ${reloads.ok}/${reloads.error} |\n`)
}

let minuteIndex = 1
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const now = performance.now()
    const due = Math.floor(((Math.min(now, soakEnd) - soakStart) / 1000) * rate)
    for (; launched < due; launched++) {
      const abort = Math.random() < ABORT_SHARE
      track(send('GET', abort ? '/slow?abort=1' : `/item/${launched % 1000}`, abort ? { abortAfterMs: 1 } : {}), !abort)
    }
    if (now - soakStart >= minuteIndex * 60_000) void report(minuteIndex++)
    if (now >= soakEnd) {
      clearInterval(tick)
      resolve()
    }
  }, 10)
})
for (const timer of timers) clearInterval(timer)
await Promise.all(pending)
if (minute.requests > 0 && minuteIndex <= Math.ceil(minutes)) await report(minuteIndex)
await Promise.all(upstreams.urls.map((_, i) => upstreams.restore(i)))

const unexpected = totals.status + totals.network
const afterFirst = rssAtMinute[0]
const last = rssAtMinute.at(-1)!
const growth = afterFirst === undefined || rssAtMinute.length < 2 ? undefined : (last - afterFirst) / afterFirst
if (statuses.size > 0) process.stdout.write(`failed statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`)
process.stdout.write(`\ntotal: ${totals.ok} ok, ${unexpected} unexpected failures (${totals.status} status, ${totals.network} network), ${totals.aborted} client aborts, ${totals.killed} failed while their target was killed; reloads ${reloads.ok} ok / ${reloads.error} rejected\n`)
// why requests in flight at a kill failed: the gateway's access-log lines of its 5xx answers (attempts, targets,
// error code), their retries, and how many the pool's retry budget refused
if (totals.killed + totals.status > 0) {
  let shown = 0
  for await (const line of createInterface({ input: createReadStream(accessLog), crlfDelay: Infinity })) {
    if (!/"status":5\d\d/.test(line)) continue
    if (shown++ < 10) process.stdout.write(`access log: ${line}\n`)
  }
  if (shown > 10) process.stdout.write(`access log: ${shown - 10} more 5xx lines\n`)
}
const metricsText = await (await fetch(`${adminUrl}/metrics`)).text()
process.stdout.write(`gateway: ${sumSamples(metricsText, 'switchyard_retries_total')} retries, ${sumSamples(metricsText, 'switchyard_retry_budget_exhausted_total')} refused by the retry budget\n`)
process.stdout.write(growth === undefined ? 'RSS growth after the first minute: not measured (needs at least 2 minutes)\n' : `RSS growth after the first minute: ${(growth * 100).toFixed(1)}%\n`)

agent.destroy()
child.kill('SIGTERM')
await childExited
await upstreams.close()
rmSync(dir, { recursive: true, force: true })
const failed = unexpected > 0 || reloads.error > 0 || (growth !== undefined && growth > 0.1)
process.stdout.write(failed ? 'SOAK FAILED\n' : 'soak passed\n')
process.exit(failed ? 1 : 0)
