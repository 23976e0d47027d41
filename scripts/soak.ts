// npm run soak [-- --minutes N] (default 10; not in CI): steady load at ~50% of the measured capacity for N
// minutes, with a config reload every 15 s, one target killed (connections reset, port refused) and restarted
// every 30 s, client aborts and streamed 1 MiB uploads. Prints a table every minute; exits 1 if a request that
// should have succeeded failed, or RSS grew more than 10% after the first minute.
//
// One process runs the gateway, its three upstreams and the load, so the capacity measured is that of the
// whole; RSS, heap and fds are the process's. A failure counts as expected only when it cannot be the gateway's
// fault: the client aborted, or the request was in flight at the moment a target was killed.
import { Agent, request } from 'node:http'
import { readdirSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Readable, Writable } from 'node:stream'
import { parseArgs } from 'node:util'
import { buildGateway } from '../src/app.ts'
import type { GatewayConfig } from '../src/config/schema.ts'
import { validateConfig } from '../src/config/validate.ts'
import { TestUpstream } from '../test/helpers/upstream.ts'

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
    log: { level: 'warn' },
    server: { host: '127.0.0.1', port: 0 },
    pools: {
      app: {
        targets: upstreams.map((u) => u.url),
        healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 400, unhealthyThreshold: 1, healthyThreshold: 1, jitter: 0 },
        connections: { maxPerTarget: 64 },
        // the reload alternates a real change, so each one is applied (not 'unchanged')
        retry: { attempts: 3, backoff: { baseMs: 20 + (variant % 2) * 5, maxMs: 250 } },
      },
    },
    routes: [{ path: '/upload', pool: 'app', maxBodyBytes: 8 * UPLOAD_BYTES }, { path: '/', pool: 'app' }],
  }
}

const upstreams = await Promise.all([0, 1, 2].map((i) => TestUpstream.start({ name: `t${i}` })))
let variant = 0
const silent = new Writable({ write (_chunk, _encoding, callback) { callback() } })
const gateway = buildGateway(validateConfig(config(variant)), { logStream: silent, defaultMetrics: false, load: async () => validateConfig(config(++variant)) })
const base = await gateway.listen({ host: '127.0.0.1', port: 0 })
const { port } = new URL(base)
const agent = new Agent({ keepAlive: true, maxSockets: 512 })

/** Requests in flight, with the target they were sent to not known: a kill marks every one in flight. */
const inFlight = new Set<{ killed: boolean }>()
/** Unexpected statuses by status and path, printed at the end. */
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
      res.resume()
      res.once('end', () => {
        if (res.statusCode !== 200) statuses.set(`${res.statusCode} ${path}`, (statuses.get(`${res.statusCode} ${path}`) ?? 0) + 1)
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

function openFds (): number {
  try { return readdirSync('/proc/self/fd').length } catch { return -1 }
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

const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
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
  const target = upstreams[killIndex++ % upstreams.length]!
  for (const mark of inFlight) mark.killed = true
  void target.refuse().then(() => setTimeout(() => { void target.restore() }, DOWN_FOR_MS))
}, KILL_EVERY_MS))
timers.push(setInterval(() => {
  void gateway.reload('admin').then((r) => { if (r.result === 'error') reloads.error++; else reloads.ok++ })
}, RELOAD_EVERY_MS))
timers.push(setInterval(() => track(send('POST', '/upload/file', { body: uploadBody() }), false), UPLOAD_EVERY_MS))

const report = (index: number): void => {
  const seconds = (performance.now() - minute.started) / 1000
  // the test upstreams record every request they see; that log is the test's memory, not the gateway's
  for (const u of upstreams) u.requests.length = 0
  const mem = process.memoryUsage()
  rssAtMinute.push(mem.rss)
  const k = minute.kinds
  process.stdout.write(`| ${index} | ${(minute.requests / seconds).toFixed(0)} | ${k.ok} | ${k.status} | ${k.network} | ${k.aborted} | ${k.killed} | ${p99(minute.latencies).toFixed(1)} | ${(mem.rss / 2 ** 20).toFixed(0)} | ${(mem.heapUsed / 2 ** 20).toFixed(0)} | ${openFds()} | ${(loop.percentile(99) / 1e6).toFixed(1)} | ${reloads.ok}/${reloads.error} |\n`)
  loop.reset()
  minute = newMinute()
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
    if (now - soakStart >= minuteIndex * 60_000) report(minuteIndex++)
    if (now >= soakEnd) {
      clearInterval(tick)
      resolve()
    }
  }, 10)
})
for (const timer of timers) clearInterval(timer)
await Promise.all(pending)
if (minute.requests > 0 && minuteIndex <= Math.ceil(minutes)) report(minuteIndex)
await Promise.all(upstreams.map((u) => (u.server.listening ? undefined : u.restore().catch(() => undefined))))

const unexpected = totals.status + totals.network
const afterFirst = rssAtMinute[0]
const last = rssAtMinute.at(-1)!
const growth = afterFirst === undefined || rssAtMinute.length < 2 ? undefined : (last - afterFirst) / afterFirst
if (statuses.size > 0) process.stdout.write(`unexpected statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`)
process.stdout.write(`\ntotal: ${totals.ok} ok, ${unexpected} unexpected failures (${totals.status} status, ${totals.network} network), ${totals.aborted} client aborts, ${totals.killed} failed while their target was killed; reloads ${reloads.ok} ok / ${reloads.error} rejected\n`)
process.stdout.write(growth === undefined ? 'RSS growth after the first minute: not measured (needs at least 2 minutes)\n' : `RSS growth after the first minute: ${(growth * 100).toFixed(1)}%\n`)

agent.destroy()
await gateway.close()
await Promise.all(upstreams.map((u) => u.close()))
const failed = unexpected > 0 || reloads.error > 0 || (growth !== undefined && growth > 0.1)
process.stdout.write(failed ? 'SOAK FAILED\n' : 'soak passed\n')
process.exit(failed ? 1 : 0)
