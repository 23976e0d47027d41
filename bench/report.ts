// From measured runs to the tables: medians over rounds per contender and concurrency, then ratios; and the
// bars' ratios paired per round.
import type { LoadResult } from './load.ts'

export type Case = 'get' | 'post'

export interface Measurement {
  contender: string
  case: Case
  connections: number
  round: number
  load: LoadResult
  /** The proxy's utime + stime over the run, per completed request. */
  cpuUsPerRequest: number
  /** VmHWM at the end of the run (reset before it where the kernel allows). */
  peakRssMiB: number
}

export interface Row {
  contender: string
  case: Case
  connections: number
  rounds: number
  requestsPerSecond: number
  minRequestsPerSecond: number
  maxRequestsPerSecond: number
  p99Ms: number
  cpuUsPerRequest: number
  peakRssMiB: number
  /** Summed over rounds. */
  non2xx: number
  socketErrors: number
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median (values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** One row per (case, contender, connections), in the order the contenders are given; each figure its own median. */
export function summarise (measurements: readonly Measurement[], contenders: readonly string[]): Row[] {
  const rows: Row[] = []
  for (const kind of ['get', 'post'] as const) {
    for (const contender of contenders) {
      const mine = measurements.filter((m) => m.case === kind && m.contender === contender)
      for (const connections of [...new Set(mine.map((m) => m.connections))].sort((a, b) => a - b)) {
        const runs = mine.filter((m) => m.connections === connections)
        const rps = runs.map((m) => m.load.requestsPerSecond)
        rows.push({
          contender,
          case: kind,
          connections,
          rounds: runs.length,
          requestsPerSecond: median(rps),
          minRequestsPerSecond: Math.min(...rps),
          maxRequestsPerSecond: Math.max(...rps),
          p99Ms: median(runs.map((m) => m.load.p99Ms)),
          cpuUsPerRequest: median(runs.map((m) => m.cpuUsPerRequest)),
          peakRssMiB: median(runs.map((m) => m.peakRssMiB)),
          non2xx: runs.reduce((n, m) => n + m.load.non2xx, 0),
          socketErrors: runs.reduce((n, m) => n + m.load.socketErrors, 0),
        })
      }
    }
  }
  return rows
}

function find (rows: readonly Row[], contender: string, kind: Case, connections: number): Row | undefined {
  return rows.find((r) => r.contender === contender && r.case === kind && r.connections === connections)
}

function ratio (a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`
}

const fixed = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–')

export function getTable (rows: readonly Row[]): string {
  const lines = [
    '| contender | conns | req/s (median) | req/s min–max | p99 ms | CPU µs/req | peak RSS MiB | non-2xx | socket errors | req/s vs raw | CPU/req vs floor |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const r of rows.filter((row) => row.case === 'get')) {
    const raw = find(rows, 'raw', 'get', r.connections)
    const floor = find(rows, 'floor', 'get', r.connections)
    lines.push(`| ${r.contender} | ${r.connections} | ${fixed(r.requestsPerSecond)} | ${fixed(r.minRequestsPerSecond)}–${fixed(r.maxRequestsPerSecond)} | ` +
      `${fixed(r.p99Ms, 2)} | ${fixed(r.cpuUsPerRequest, 1)} | ${fixed(r.peakRssMiB)} | ${r.non2xx} | ${r.socketErrors} | ` +
      `${ratio(r.requestsPerSecond, raw?.requestsPerSecond)} | ${ratio(r.cpuUsPerRequest, floor?.cpuUsPerRequest)} |`)
  }
  return lines.join('\n')
}

/** The streamed-upload table: each request carries `bodyBytes`, so MiB/s is req/s scaled. */
export function postTable (rows: readonly Row[], bodyBytes: number): string {
  const mib = bodyBytes / (1024 * 1024)
  const lines = [
    '| contender | conns | MiB/s uploaded (median) | req/s | p99 ms | CPU µs/req | peak RSS MiB | non-2xx | socket errors | MiB/s vs raw | CPU/req vs floor |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const r of rows.filter((row) => row.case === 'post')) {
    const raw = find(rows, 'raw', 'post', r.connections)
    const floor = find(rows, 'floor', 'post', r.connections)
    lines.push(`| ${r.contender} | ${r.connections} | ${fixed(r.requestsPerSecond * mib)} | ${fixed(r.requestsPerSecond)} | ${fixed(r.p99Ms, 2)} | ` +
      `${fixed(r.cpuUsPerRequest)} | ${fixed(r.peakRssMiB)} | ${r.non2xx} | ${r.socketErrors} | ` +
      `${ratio(r.requestsPerSecond, raw?.requestsPerSecond)} | ${ratio(r.cpuUsPerRequest, floor?.cpuUsPerRequest)} |`)
  }
  return lines.join('\n')
}

/** The two ratios the benchmark exists for, one line per concurrency. */
export function headline (rows: readonly Row[]): string[] {
  const out: string[] = []
  for (const r of rows.filter((row) => row.case === 'get' && row.contender === 'switchyard-full')) {
    const floor = find(rows, 'floor', 'get', r.connections)
    const raw = find(rows, 'raw', 'get', r.connections)
    out.push(`c=${r.connections}: switchyard-full costs ${ratio(r.cpuUsPerRequest, floor?.cpuUsPerRequest)} the floor's CPU per request; ` +
      `its req/s is ${ratio(r.requestsPerSecond, raw?.requestsPerSecond)} raw @fastify/http-proxy's`)
    for (const scale of ['switchyard-10k-routes', 'switchyard-1k-targets']) {
      const s = find(rows, scale, 'get', r.connections)
      if (s !== undefined) out.push(`c=${r.connections}: ${scale} costs ${ratio(s.cpuUsPerRequest, r.cpuUsPerRequest)} switchyard-full's CPU per request (bar: at most 1.05×)`)
    }
    // the same spread over 1,000 upstream connections without any gateway: what of the 1k-targets cost is Node's and undici's
    const floor1k = find(rows, 'floor-1k-targets', 'get', r.connections)
    if (floor1k !== undefined && floor !== undefined) out.push(`c=${r.connections}: floor-1k-targets costs ${ratio(floor1k.cpuUsPerRequest, floor.cpuUsPerRequest)} the floor's CPU per request`)
  }
  return out
}

export interface PairedRatio {
  /** The median over rounds of a's figure ÷ b's in the same round. */
  median: number
  min: number
  max: number
  rounds: number
}

/**
 * `a`'s figure ÷ `b`'s in each round both ran, and the median of those ratios. In a round the contenders run back
 * to back (bench/run.ts), so a change in the shared machine's speed between rounds falls on both sides of each
 * ratio; the ratio of two medians taken on their own can pair a quiet round of one with a busy round of the other.
 */
export function pairedRatio (measurements: readonly Measurement[], a: string, b: string, kind: Case, connections: number, figure: (m: Measurement) => number): PairedRatio | undefined {
  const of = (contender: string): Map<number, Measurement> =>
    new Map(measurements.filter((m) => m.contender === contender && m.case === kind && m.connections === connections).map((m) => [m.round, m]))
  const mine = of(a)
  const theirs = of(b)
  const ratios: number[] = []
  for (const [round, m] of mine) {
    const other = theirs.get(round)
    if (other !== undefined && figure(other) > 0) ratios.push(figure(m) / figure(other))
  }
  if (ratios.length === 0) return undefined
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios.length }
}

const cpu = (m: Measurement): number => m.cpuUsPerRequest
const throughput = (m: Measurement): number => m.load.requestsPerSecond
const range = (r: PairedRatio, digits = 2): string => `${r.median.toFixed(digits)}× (${r.min.toFixed(digits)}–${r.max.toFixed(digits)}× over ${r.rounds} round${r.rounds === 1 ? '' : 's'})`
const share = (r: PairedRatio): string =>
  `${((1 - r.median) * 100).toFixed(1)}% (${((1 - r.max) * 100).toFixed(1)}% to ${((1 - r.min) * 100).toFixed(1)}% over ${r.rounds} round${r.rounds === 1 ? '' : 's'})`

/** Issue #12's bars as ratios paired per round, one line each, for the contenders that ran. */
export function pairedBars (measurements: readonly Measurement[]): string[] {
  const out: string[] = []
  const concurrencies = (kind: Case): number[] =>
    [...new Set(measurements.filter((m) => m.case === kind && m.contender === 'switchyard-full').map((m) => m.connections))].sort((x, y) => x - y)
  for (const c of concurrencies('get')) {
    const floor = pairedRatio(measurements, 'switchyard-full', 'floor', 'get', c, cpu)
    if (floor !== undefined) out.push(`c=${c}: switchyard-full's CPU per request ÷ the floor's: ${range(floor)} (bar 1: at most 1.15×)`)
    const raw = pairedRatio(measurements, 'switchyard-full', 'raw', 'get', c, throughput)
    if (raw !== undefined) out.push(`c=${c}: switchyard-full's req/s ÷ raw @fastify/http-proxy's: ${range(raw)}`)
    const log = pairedRatio(measurements, 'switchyard-full', 'switchyard-nolog', 'get', c, throughput)
    if (log !== undefined) out.push(`c=${c}: the access log costs ${share(log)} of switchyard-nolog's req/s (bar 4: at most 10%)`)
    const metrics = pairedRatio(measurements, 'switchyard-full', 'switchyard-nometrics', 'get', c, throughput)
    if (metrics !== undefined) out.push(`c=${c}: Prometheus metrics cost ${share(metrics)} of switchyard-nometrics' req/s`)
    for (const scale of ['switchyard-10k-routes', 'switchyard-1k-targets']) {
      const s = pairedRatio(measurements, scale, 'switchyard-full', 'get', c, cpu)
      if (s !== undefined) out.push(`c=${c}: ${scale}'s CPU per request ÷ switchyard-full's: ${range(s)} (bar 6: at most 1.05×)`)
    }
  }
  for (const c of concurrencies('post')) {
    const raw = pairedRatio(measurements, 'switchyard-full', 'raw', 'post', c, throughput)
    if (raw !== undefined) out.push(`uploads, c=${c}: switchyard-full's MiB/s ÷ raw @fastify/http-proxy's: ${range(raw)} (bar 5: at least 1.2×)`)
  }
  return out
}
