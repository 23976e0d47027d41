// npm run stress:aborts [-- --requests N --concurrency C] (not in CI; ~1 min): N client requests (default
// 10,000, C = 200 at a time) each aborted 100 ms after it was sent, against an upstream that answers after 2 s.
// Bars, each failing the run (exit 1): every request the upstream saw is closed by the gateway within 200 ms of
// its client's abort, none is answered; the pool's breaker counts no failure; the gateway's fds and heap come
// back to their baseline (+5 fds, +10% retained heap) after the run. Retained heap is measured by the harness
// forcing a full collection in the gateway child (started with --expose-gc for that alone; the gateway never
// collects by hand): measurement, not a memory fix.
//
// The gateway runs in a child process (scripts/stress/gateway-child.ts): its fds and RSS come from /proc/<pid>,
// its heap from its /metrics. The upstream runs in a process of its own (scripts/stress/upstream-child.ts) on
// the clients' CPU: in this process, the 200 clients' work delayed its timestamps by up to 85 ms. An abort and
// the upstream's view of it are compared on one clock that both processes read (machineNow).
import { request } from 'node:http'
import { connect } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { DRIVER_CPU, GATEWAY_CPU, pin } from './stress/pin.ts'
import { startGatewayChild, sumSamples, type GatewayChild } from './stress/gateway-process.ts'
import { busyPercent, cpuJiffies, listenDrops, machineNow, ms, percentile, sleep, table } from './stress/stats.ts'
import { startUpstreamChild } from './stress/upstream-process.ts'
import { clockTicksPerSecond, cpuTicks, loadAverage } from '../bench/proc.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    'abort-ms': { type: 'string', default: '100' },
    'upstream-ms': { type: 'string', default: '2000' },
    'bar-ms': { type: 'string', default: '200' },
    'settle-max-ms': { type: 'string', default: '30000' },
  },
})
const REQUESTS = Number(values.requests)
const CONCURRENCY = Number(values.concurrency)
const ABORT_MS = Number(values['abort-ms'])
const BAR_MS = Number(values['bar-ms'])
const SETTLE_MAX_MS = Number(values['settle-max-ms'])
const FD_SLACK = 5
const HEAP_SLACK = 0.1

const UPSTREAM_MS = Number(values['upstream-ms'])
const upstream = await startUpstreamChild(UPSTREAM_MS)
const gw = await startGatewayChild({
  log: { level: 'warn' },
  server: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0 },
  pools: {
    app: {
      targets: [upstream.url],
      // room for every concurrent request, so each one reaches the upstream and has something to abort
      connections: { maxPerTarget: 256 },
      circuitBreaker: { volumeThreshold: 20, errorThresholdPercentage: 50, rollingWindowMs: 10_000 },
    },
  },
  routes: [{ path: '/', pool: 'app' }],
})

// the gateway has CPU 0 to itself (see ./stress/pin.ts); clients and upstream share CPU 1
pin(process.pid, DRIVER_CPU)

interface Sent { id: string; abortedAt: number; answered: boolean }

/**
 * One GET /slow/<id> on its own connection, destroyed abortMs after it was sent. Written on a raw socket: an
 * HTTP client's parser and request objects for 1,900 requests a second took CPU the upstream, on the same core,
 * needed to keep up with accepting the gateway's connections (its accept queue grew, and requests reached it
 * seconds after their clients had left). Any byte back before the abort counts as an answer.
 */
function abortedRequest (id: string): Promise<Sent> {
  return new Promise((resolve) => {
    const sent: Sent = { id, abortedAt: 0, answered: false }
    const socket = connect(gw.port, '127.0.0.1')
    socket.on('error', () => { /* our own abort */ })
    socket.once('data', () => { sent.answered = true })
    socket.write(`GET /slow/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
    setTimeout(() => {
      sent.abortedAt = machineNow()
      socket.destroy()
      resolve(sent)
    }, ABORT_MS)
  })
}

async function run (prefix: string, count: number): Promise<Sent[]> {
  const results: Sent[] = []
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) results.push(await abortedRequest(`${prefix}${next++}`))
  }))
  return results
}

/** A few normal requests, so the baseline is taken from a gateway that has served (lazy state allocated). */
async function served (n: number): Promise<number> {
  let ok = 0
  for (let i = 0; i < n; i++) {
    ok += await new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port: gw.port, path: '/ok', agent: false }, (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode === 200 ? 1 : 0))
      }).once('error', () => resolve(0)).end()
    })
  }
  return ok
}

interface Resources { fds: number; heapMiB: number; oldMiB: number; rssMiB: number; majorGcs: number; heapAfterMajorMiB: number }
// heap over IPC, not /metrics: polling a scrape every second would itself fill the heap being watched
const resources = async (g: GatewayChild): Promise<Resources> => {
  const m = await g.memory()
  return { fds: g.fds(), heapMiB: m.heapUsed / 2 ** 20, oldMiB: m.oldUsed / 2 ** 20, rssMiB: g.rssMiB(), majorGcs: m.gcs.major, heapAfterMajorMiB: m.gcs.heapAfterMajor / 2 ** 20 }
}
const attempts = async (g: GatewayChild): Promise<Record<string, number>> => {
  const text = await g.metrics()
  const out: Record<string, number> = {}
  for (const outcome of ['success', 'client-abort', 'busy', 'status', 'connect-failure', 'reset', 'timeout', 'bad-response']) {
    out[outcome] = sumSamples(text, 'switchyard_upstream_attempts_total', `outcome="${outcome}"`)
  }
  return out
}

// warm-up: the same work on a small scale, then the baseline after the same settle the run gets
await served(50)
await run('w', 2 * CONCURRENCY)
await sleep(3000)
const base = await resources(gw)
const baseRetainedMiB = await gw.retainedHeap() / 2 ** 20
const breakerBefore = await gw.breakerEvents()
const attemptsBefore = await attempts(gw)
const answeredBefore = (await upstream.report()).slowAnswered
await upstream.clear()

await gw.loopDelay()
const ownLoop = monitorEventLoopDelay({ resolution: 10 })
ownLoop.enable()
const loadBefore = loadAverage()
const dropsBefore = listenDrops()
const cpusBefore = [cpuJiffies(GATEWAY_CPU), cpuJiffies(DRIVER_CPU)]
const gatewayTicksBefore = cpuTicks(gw.pid)
const started = performance.now()
const sent = await run('r', REQUESTS)
const runSeconds = (performance.now() - started) / 1000
const drops = listenDrops() - dropsBefore
const [gatewayBusy, driversBusy] = [busyPercent(cpusBefore[0], cpuJiffies(GATEWAY_CPU)), busyPercent(cpusBefore[1], cpuJiffies(DRIVER_CPU))]
// the gateway process's own CPU (utime + stime), which other tenants of the machine do not inflate
const gatewayUsPerAbort = ((cpuTicks(gw.pid) - gatewayTicksBefore) * 1e6) / clockTicksPerSecond() / REQUESTS
const gwLoop = await gw.loopDelay()
ownLoop.disable()
const peak = await resources(gw)
// anything not closed by now would be answered at 2 s: wait that long so a miss shows up as an answer
await sleep(UPSTREAM_MS + 500)
const seen = await upstream.report()

const lags: number[] = []
const arrivalLags: number[] = []
const heldMs: number[] = []
let notReached = 0
let neverClosed = 0
let forwardedAfterAbort = 0
for (const s of sent) {
  const arrived = seen.arrived.get(s.id)
  if (arrived === undefined) { notReached++; continue }
  if (arrived > s.abortedAt) forwardedAfterAbort++
  arrivalLags.push(arrived - s.abortedAt)
  const closed = seen.closed.get(s.id)
  if (closed === undefined) { neverClosed++; continue }
  lags.push(closed - s.abortedAt)
  heldMs.push(closed - arrived)
}
const late = lags.filter((l) => l > BAR_MS).length
const answeredByUpstream = seen.slowAnswered - answeredBefore
const answeredToClient = sent.filter((s) => s.answered).length

const breakerAfter = await gw.breakerEvents()
const attemptsAfter = await attempts(gw)
const delta = (a: Record<string, number>, b: Record<string, number>, k: string): number => (b[k] ?? 0) - (a[k] ?? 0)

// settle: light normal traffic until the fds are back (or SETTLE_MAX_MS); then the retained heap, read after a
// full collection the harness forces (measurement only). The natural heapUsed is reported beside it.
const majorAtRunEnd = peak.majorGcs
const settleStarted = performance.now()
let after = await resources(gw)
let trickled = 0
while (after.fds > base.fds + FD_SLACK && performance.now() - settleStarted < SETTLE_MAX_MS) {
  const until = performance.now() + 1000
  while (performance.now() < until) {
    trickled += await served(1)
    await sleep(50)
  }
  after = await resources(gw)
  if (process.env.STRESS_DEBUG) process.stderr.write(`settle ${JSON.stringify(after)}\n`)
}
const afterRetainedMiB = await gw.retainedHeap() / 2 ** 20
const settleSeconds = (performance.now() - settleStarted) / 1000
const stillInFlight = sumSamples(await gw.metrics(), 'switchyard_target_in_flight')

const bars = {
  aborted: late === 0 && neverClosed === 0 && answeredByUpstream === 0,
  breaker: delta(breakerBefore, breakerAfter, 'failure') === 0 && delta(breakerBefore, breakerAfter, 'open') === 0 && delta(breakerBefore, breakerAfter, 'reject') === 0,
  fds: after.fds <= base.fds + FD_SLACK,
  heap: afterRetainedMiB <= baseRetainedMiB * (1 + HEAP_SLACK),
}
const verdict = (ok: boolean): string => ok ? 'pass' : '**FAIL**'

process.stdout.write(`\n### Client aborts: ${REQUESTS} requests aborted at ${ABORT_MS} ms, ${CONCURRENCY} at a time, upstream answers after ${UPSTREAM_MS} ms\n\n`)
process.stdout.write(`Machine load average before the run: ${loadBefore}. Event-loop delay p99 / max during the run: gateway ${ms(gwLoop.p99Ms)} / ${ms(gwLoop.maxMs)} ms, load driver ${ms(ownLoop.percentile(99) / 1e6)} / ${ms(ownLoop.max / 1e6)} ms, upstream (its own process; until the report after the 2.5 s wait) ${ms(seen.loop.p99Ms)} / ${ms(seen.loop.maxMs)} ms.\n`)
process.stdout.write(`Run took ${runSeconds.toFixed(1)} s (${(REQUESTS / runSeconds).toFixed(0)} aborted req/s); gateway pid ${gw.pid} on port ${gw.port}, upstream pid ${upstream.pid} on port ${new URL(upstream.url).port}, started with --expose-gc for the harness's retained-heap reads only; ${gw.pinned ? `the gateway had CPU 0 to itself (busy ${gatewayBusy.toFixed(0)}% of the run; the gateway's own CPU ${gatewayUsPerAbort.toFixed(0)} µs per aborted request), the clients and the upstream (two processes) shared CPU 1 (busy ${driversBusy.toFixed(0)}%)` : 'nothing pinned (no taskset or one CPU)'}.\n\n`)
process.stdout.write(table(['measure', 'value', 'bar', 'verdict'], [
  ['requests that reached the upstream', `${REQUESTS - notReached} / ${REQUESTS}`, '', ''],
  ['reached the upstream after their client had aborted', forwardedAfterAbort, '', ''],
  ['upstream arrival minus client abort: p50 / p99 / max ms', `${ms(percentile(arrivalLags, 50))} / ${ms(percentile(arrivalLags, 99))} / ${ms(percentile(arrivalLags, 100))}`, '', ''],
  ['TCP listen-queue overflows and drops during the run (whole machine)', drops, '', ''],
  ['upstream close minus upstream arrival: p50 / p99 / max ms', `${ms(percentile(heldMs, 50))} / ${ms(percentile(heldMs, 99))} / ${ms(percentile(heldMs, 100))}`, '', ''],
  ['upstream close after client abort: p50 / p99 / max ms', `${ms(percentile(lags, 50))} / ${ms(percentile(lags, 99))} / ${ms(percentile(lags, 100))}`, `every one ≤ ${BAR_MS}`, verdict(late === 0)],
  [`closed later than ${BAR_MS} ms`, late, '0', verdict(late === 0)],
  ['reached the upstream and never closed / answered by it', `${neverClosed} / ${answeredByUpstream}`, '0 / 0', verdict(neverClosed === 0 && answeredByUpstream === 0)],
  ['answered to a client before its abort', answeredToClient, '', ''],
  ['breaker events during the run: failure / open / reject / success', `${delta(breakerBefore, breakerAfter, 'failure')} / ${delta(breakerBefore, breakerAfter, 'open')} / ${delta(breakerBefore, breakerAfter, 'reject')} / ${delta(breakerBefore, breakerAfter, 'success')}`, 'failure, open, reject 0', verdict(bars.breaker)],
  ['attempts by outcome (metrics): client-abort / success / any failure', `${delta(attemptsBefore, attemptsAfter, 'client-abort')} / ${delta(attemptsBefore, attemptsAfter, 'success')} / ${['status', 'connect-failure', 'reset', 'timeout', 'bad-response'].reduce((n, k) => n + delta(attemptsBefore, attemptsAfter, k), 0)}`, '', ''],
  ['fds: baseline / end of run / after settle', `${base.fds} / ${peak.fds} / ${after.fds}`, `≤ baseline + ${FD_SLACK}`, verdict(bars.fds)],
  ['heap used MiB: baseline / end of run / after settle', `${base.heapMiB.toFixed(1)} / ${peak.heapMiB.toFixed(1)} / ${after.heapMiB.toFixed(1)}`, '', ''],
  ['old-generation heap MiB: baseline / end of run / after settle', `${base.oldMiB.toFixed(1)} / ${peak.oldMiB.toFixed(1)} / ${after.oldMiB.toFixed(1)}`, '', ''],
  ['full GCs V8 ran after the run; heap right after the latest MiB', after.majorGcs > majorAtRunEnd ? `${after.majorGcs - majorAtRunEnd}; ${after.heapAfterMajorMiB.toFixed(1)}` : '0; –', '', ''],
  ['retained heap MiB (heap used after a full GC forced by the harness): baseline / after settle', `${baseRetainedMiB.toFixed(1)} / ${afterRetainedMiB.toFixed(1)}`, `≤ baseline + ${HEAP_SLACK * 100}%`, verdict(bars.heap)],
  ['RSS MiB: baseline / end of run / after settle', `${base.rssMiB.toFixed(1)} / ${peak.rssMiB.toFixed(1)} / ${after.rssMiB.toFixed(1)}`, '(reported only)', ''],
  ['settle until fds are back (after the 2.5 s wait for late answers), normal requests served meanwhile', `${settleSeconds.toFixed(1)} s, ${trickled}`, `≤ ${SETTLE_MAX_MS / 1000} s`, ''],
  ['requests still in flight to the target after settle', stillInFlight, '0', verdict(stillInFlight === 0)],
]))

await gw.stop()
await upstream.stop()
const failed = !Object.values(bars).every(Boolean) || stillInFlight !== 0
process.stdout.write(failed ? '\nABORTS FAILED\n' : '\naborts passed\n')
process.exit(failed ? 1 : 0)
