// `node bench/metrics-render.ts`: the cost of /metrics at 100 pools × 20 targets, and of recording one request.
// Prints numbers and asserts nothing (the bar: render() under 20 ms at this size).
import { availableParallelism, loadavg } from 'node:os'
import { GatewayMetrics } from '../src/metrics/metrics.ts'
import type { AttemptOutcome } from '../src/metrics/catalogue.ts'
import type { PoolSnapshot } from '../src/metrics/snapshot.ts'
import type { RouteMetrics } from '../src/metrics/route.ts'

const POOLS = 100
const TARGETS = 20
const ROUTES_PER_POOL = 3
const RENDERS = 50
const CALLS = 1e6

// a deterministic spread of traffic (mulberry32), so every run builds the same series
let seed = 42
function random (): number {
  seed = (seed + 0x6d2b79f5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!

// Weighted by repetition. Every route takes GETs; half also take writes, a few take the rest.
const READS = ['GET', 'GET', 'GET', 'GET', 'HEAD']
const WRITES = ['POST', 'POST', 'PUT', 'DELETE']
const READ_STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 304, 304, 404, 500, 502]
const WRITE_STATUSES = [201, 201, 201, 201, 200, 204, 400, 409, 500]
const OUTCOMES: AttemptOutcome[] = [...Array<AttemptOutcome>(40).fill('success'), 'status', 'status', 'status', 'reset', 'timeout', 'connect-failure']
function traffic (writes: boolean): { method: string; status: number } {
  const method = writes && random() < 0.3 ? pick(WRITES) : pick(READS)
  return { method, status: pick(READS.includes(method) ? READ_STATUSES : WRITE_STATUSES) }
}
const latency = (): number => 0.0005 * Math.exp(random() * 9) // 0.5 ms … 4 s, log-uniform

const pools: PoolSnapshot[] = []
const metrics = new GatewayMetrics({ defaultMetrics: true, source: { pools: () => pools } })
const bindings: RouteMetrics[] = []
for (let p = 0; p < POOLS; p++) {
  const pool = `pool-${p}`
  const targets = Array.from({ length: TARGETS }, (_, i) => ({ id: `http://10.0.${p}.${i + 1}:8080`, up: random() > 0.05, inFlight: Math.floor(random() * 30) }))
  pools.push({ name: pool, circuit: random() > 0.95 ? 'open' : 'closed', tier: 'primary', hold: 'none', targets })
  for (let r = 0; r < ROUTES_PER_POOL; r++) {
    const route = metrics.route(`route-${p}-${r}`, pool)
    bindings.push(route)
    const writes = r % 2 === 0
    for (let i = 0; i < 200; i++) {
      const { method, status } = traffic(writes)
      route.request(method, status, latency())
    }
  }
  for (const t of targets) {
    const target = metrics.target(pool, t.id)
    for (let i = 0; i < 50; i++) target.attempt(pick(OUTCOMES))
  }
  const poolMetrics = metrics.pool(pool)
  poolMetrics.retry('reset')
  poolMetrics.retry('status')
  poolMetrics.retry('timeout')
  poolMetrics.budgetExhausted()
}
metrics.setConfigInfo(() => '3f2a9c1d')
metrics.configReload('success')

const text = await metrics.render()
const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length
console.log(`exposition: ${series} series, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB`)

// wall time is what a scraper waits; CPU time is steadier on a shared machine (it excludes waiting for a core)
const wall: number[] = []
const cpu: number[] = []
for (let i = 0; i < 5; i++) await metrics.render() // warm-up
for (let i = 0; i < RENDERS; i++) {
  const start = process.hrtime.bigint()
  const startCpu = process.cpuUsage()
  await metrics.render()
  const used = process.cpuUsage(startCpu)
  wall.push(Number(process.hrtime.bigint() - start) / 1e6)
  cpu.push((used.user + used.system) / 1000)
}
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!
console.log(`render(): median ${quantile(wall, 0.5).toFixed(2)} ms, p99 ${quantile(wall, 0.99).toFixed(2)} ms over ${RENDERS} renders ` +
  `(CPU time: median ${quantile(cpu, 0.5).toFixed(2)} ms, p99 ${quantile(cpu, 0.99).toFixed(2)} ms)`)

// recording: a realistic mix of bindings, methods and statuses, all combinations already bound
const mix = Array.from({ length: 4096 }, (_, i) => ({ binding: pick(bindings), ...traffic(i % 2 === 0), seconds: latency() }))
function record (n: number, lookup: boolean): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const { binding, method, status, seconds } = mix[i & 4095]!
    const route = lookup ? metrics.route(binding.route, binding.pool) : binding
    route.request(method, status, seconds)
  }
  return Number(process.hrtime.bigint() - start) / n
}
record(CALLS / 10, false) // warm-up
record(CALLS / 10, true)
// a few rounds each; the median round is the figure (a neighbour's burst spoils single rounds)
const median = (xs: number[]): number => quantile(xs, 0.5)
const held = Array.from({ length: 5 }, () => record(CALLS, false))
const looked = Array.from({ length: 5 }, () => record(CALLS, true))
console.log(`request() on a held binding: ${median(held).toFixed(0)} ns per call (median of 5 rounds of ${CALLS} calls; rounds ${held.map((n) => n.toFixed(0)).join(', ')})`)
console.log(`route(id, pool).request(): ${median(looked).toFixed(0)} ns per call (median of 5 rounds of ${CALLS} calls; rounds ${looked.map((n) => n.toFixed(0)).join(', ')})`)
console.log(`load average while measuring: ${loadavg().map((n) => n.toFixed(2)).join(' ')} on ${availableParallelism()} cores`)
