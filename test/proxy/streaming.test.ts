// Large bodies stream through without being held in memory: 200 MiB each way through a gateway
// running in a child process, whose resident memory is sampled from /proc while it proxies.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { Echo } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { upstream, type Tap } from './setup.ts'

const MiB = 1024 * 1024
const TOTAL = 200 * MiB
const MAX_GROWTH = 64 * MiB
const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url))

interface Child {
  url: string
  proc: ChildProcess
  exited: Promise<number | null>
}

async function startChild (t: Tap, config: GatewayConfig): Promise<Child> {
  const env = { ...process.env }
  delete env.NODE_OPTIONS // measure the gateway, not the test runner's coverage hooks
  // run as shipped: the V8 flags of npm start and the Docker entrypoint (see src/lifecycle/node-flags.ts)
  const proc = spawn(process.execPath, [...NODE_FLAGS, CHILD, JSON.stringify(config)], { cwd: fileURLToPath(new URL('../..', import.meta.url)), env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    await exited
  })
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! })
    lines.once('line', resolve)
    proc.once('exit', (code) => reject(new Error(`gateway child exited with ${code} before listening`)))
  })
  return { url: (JSON.parse(line) as { url: string }).url, proc, exited }
}

function rssBytes (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (kb === null) throw new Error('no VmRSS in /proc status')
  return Number(kb[1]) * 1024
}

/** Samples a process's RSS every 25 ms until stopped; returns the maximum seen. */
function sampleRss (pid: number): { stop: () => number } {
  let max = rssBytes(pid)
  const timer = setInterval(() => {
    try { max = Math.max(max, rssBytes(pid)) } catch { /* exited: the test reports that */ }
  }, 25)
  return { stop: () => { clearInterval(timer); return max } }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Downloads url, counting bytes without keeping them. */
function download (url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => { bytes += chunk.length })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }))
      res.once('error', reject)
    }).once('error', reject).end()
  })
}

/** A request body of `total` bytes made on the fly, 64 KiB at a time. */
function generatedBody (total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 'u')
  let left = total
  return new Readable({
    read () {
      if (left === 0) return void this.push(null)
      const n = Math.min(left, chunk.length)
      left -= n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    },
  })
}

/** Idle RSS after warming up (JIT, buffers, the upstream connection). */
async function baselineRss (pid: number): Promise<number> {
  await sleep(300)
  return Math.min(rssBytes(pid), rssBytes(pid))
}

const poolConfig = (url: string): GatewayConfig => ({
  pools: { big: { targets: [url], timeouts: { requestMs: 20_000, idleMs: 20_000 } } },
  routes: [{ path: '/', pool: 'big' }],
})

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

t.test('a 200 MiB download streams through in bounded memory', async (t) => {
  const u = await upstream(t, 'big')
  const child = await startChild(t, poolConfig(u.url))
  const pid = child.proc.pid!

  t.equal((await download(`${child.url}/warm?bytes=${4 * MiB}`)).bytes, 4 * MiB)
  const baseline = await baselineRss(pid)

  const sampler = sampleRss(pid)
  const down = await download(`${child.url}/download?bytes=${TOTAL}`)
  const max = sampler.stop()
  t.equal(down.status, 200)
  t.equal(down.bytes, TOTAL, 'every downloaded byte arrives')
  t.ok(max - baseline < MAX_GROWTH, `RSS grew ${mib(max - baseline)} over a ${mib(baseline)} baseline (limit 64 MiB)`)

  child.proc.kill('SIGTERM')
  t.equal(await child.exited, 0, 'the gateway exits cleanly on SIGTERM')
})

t.test('a 200 MiB upload streams through in bounded memory', async (t) => {
  const u = await upstream(t, 'big')
  const child = await startChild(t, poolConfig(u.url))
  const pid = child.proc.pid!

  // warm up both body paths: a small body is buffered for replay, a large one streams
  t.equal((await httpRequest(`${child.url}/warm`)).status, 200)
  t.equal((await httpRequest(`${child.url}/warm`, { method: 'POST', body: 'x'.repeat(1024) })).echo().bodyBytes, 1024)
  const warm = await httpRequest(`${child.url}/warm`, { method: 'POST', headers: { 'content-length': String(4 * MiB) }, body: generatedBody(4 * MiB) })
  t.equal(warm.echo().bodyBytes, 4 * MiB)
  const baseline = await baselineRss(pid)

  const sampler = sampleRss(pid)
  const up = await httpRequest(`${child.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) }, body: generatedBody(TOTAL) })
  const max = sampler.stop()
  t.equal(up.status, 200)
  const echo: Echo = up.echo()
  t.equal(echo.bodyBytes, TOTAL, 'every uploaded byte reaches the upstream')
  t.equal(echo.headers['content-length'], String(TOTAL), 'with its declared length')
  t.ok(max - baseline < MAX_GROWTH, `RSS grew ${mib(max - baseline)} over a ${mib(baseline)} baseline (limit 64 MiB)`)

  await sleep(100)
  t.equal(child.proc.exitCode, null, 'the gateway process is still running after a streamed upload')
  const chunked = await httpRequest(`${child.url}/upload-chunked`, { method: 'PUT', body: generatedBody(16 * MiB) }).catch((err: unknown) => err as Error)
  t.equal((chunked as { status?: number }).status, 200, 'a chunked upload of unknown length is answered')
  if (!(chunked instanceof Error)) t.equal(chunked.echo().bodyBytes, 16 * MiB, 'and arrives whole')

  await sleep(100)
  if (child.proc.exitCode === null) {
    child.proc.kill('SIGTERM')
    t.equal(await child.exited, 0, 'the gateway exits cleanly on SIGTERM')
  } else {
    t.fail(`the gateway process died (exit code ${child.proc.exitCode})`)
  }
})
