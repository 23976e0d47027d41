// `node scripts/aborts-floor.ts [--concurrency 200] [--requests 10000]` (not in CI): what client aborts cost a
// bare Node proxy (scripts/stress/abort-floor-proxy.ts) under the same load as `npm run stress:aborts`: raw
// requests to /slow/<id> aborted 100 ms after they were sent, the upstream in its own process. Prints the
// proxy's own CPU per aborted request and how soon the upstream saw each request closed, to read beside the
// gateway's figures. The proxy is pinned to CPU 0, the clients and the upstream to CPU 1.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { parseArgs } from 'node:util'
import { clockTicksPerSecond, cpuTicks, loadAverage } from '../bench/proc.ts'
import { DRIVER_CPU, GATEWAY_CPU, pin } from './stress/pin.ts'
import { machineNow, ms, percentile, sleep } from './stress/stats.ts'
import { startUpstreamChild } from './stress/upstream-process.ts'

const { values } = parseArgs({ options: { concurrency: { type: 'string', default: '200' }, requests: { type: 'string', default: '10000' } } })
const CONCURRENCY = Number(values.concurrency)
const REQUESTS = Number(values.requests)
const ABORT_MS = 100

const upstream = await startUpstreamChild(2000)
const proxy = spawn(process.execPath, [...(process.env.FLOOR_ARGS?.split(' ').filter(Boolean) ?? []), new URL('./stress/abort-floor-proxy.ts', import.meta.url).pathname, upstream.url], { stdio: ['ignore', 'pipe', 'inherit'] })
process.once('exit', () => proxy.kill('SIGKILL'))
const port = Number(await new Promise<string>((resolve) => proxy.stdout!.once('data', (d) => resolve(String(d).trim()))))
pin(proxy.pid!, GATEWAY_CPU)
pin(process.pid, DRIVER_CPU)

/** One raw GET /slow/<id>, destroyed ABORT_MS after it was written; resolves with the abort's time. */
const aborted = (id: string): Promise<number> => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => { /* our own abort */ })
  socket.write(`GET /slow/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
  setTimeout(() => {
    const at = machineNow()
    socket.destroy()
    resolve(at)
  }, ABORT_MS)
})

async function run (prefix: string, count: number): Promise<Map<string, number>> {
  const abortedAt = new Map<string, number>()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const id = `${prefix}${next++}`
      abortedAt.set(id, await aborted(id))
    }
  }))
  return abortedAt
}

// warm-up as the gateway's run has it, then the same settle
await run('w', 2 * CONCURRENCY)
await sleep(3000)
await upstream.clear()
const load = loadAverage()
const ticks = cpuTicks(proxy.pid!)
const started = performance.now()
const abortedAt = await run('r', REQUESTS)
const seconds = (performance.now() - started) / 1000
const usPerAbort = ((cpuTicks(proxy.pid!) - ticks) * 1e6) / clockTicksPerSecond() / REQUESTS
await sleep(2500)
const seen = await upstream.report()
const lags: number[] = []
for (const [id, at] of abortedAt) {
  const closed = seen.closed.get(id)
  if (closed !== undefined) lags.push(closed - at)
}
process.stdout.write(`Node floor for client aborts: ${REQUESTS} at ${CONCURRENCY} at a time, ${(REQUESTS / seconds).toFixed(0)} aborted req/s (load average before: ${load}). ` +
  `The proxy's own CPU: ${usPerAbort.toFixed(0)} µs per aborted request. Upstream close after client abort p50 / p99 / max: ` +
  `${ms(percentile(lags, 50))} / ${ms(percentile(lags, 99))} / ${ms(percentile(lags, 100))} ms (${lags.length} closed, ${seen.slowAnswered} answered).\n`)
proxy.kill('SIGINT')
await new Promise((resolve) => proxy.once('exit', resolve))
await upstream.stop()
process.exit(0)
