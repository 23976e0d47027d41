// `node bench/route-match.ts`: nanoseconds per RoutingTable.match() at 1, 100, 1,000 and 10,000 routes: the
// median (minimum) of several timed runs, one process per size (pinned to CPU 0 where taskset exists).
// Routes as a large config has them: prefix routes /svc<i>/api, and every 10th service also has a host-bound
// route, every 7th a method-bound one, every 13th a header-bound one on the same prefix (so buckets hold
// several routes), plus a catch-all '/'. Requests go to random services' deeper paths, some to no service.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { RouteSpec } from '../src/routing/table.ts'
import { RoutingTable } from '../src/routing/table.ts'
import { canPin } from './children.ts'
import { median } from './report.ts'

const SIZES = [1, 100, 1000, 10_000]
const RUNS = 15
const RUN_MS = 10

export function routes (n: number): RouteSpec[] {
  if (n === 1) return [{ path: '/svc0/api', pool: 'p0', stripPrefix: false }]
  const out: RouteSpec[] = [{ path: '/', pool: 'default', stripPrefix: false }]
  for (let i = 0; out.length < n; i++) {
    const path = `/svc${i}/api`
    const pool = `p${i % 50}`
    out.push({ path, pool, stripPrefix: i % 2 === 0 })
    if (i % 10 === 0 && out.length < n) out.push({ path, pool, host: `svc${i}.example.com`, stripPrefix: false })
    if (i % 7 === 0 && out.length < n) out.push({ path, pool, methods: ['POST', 'PUT'], stripPrefix: false })
    if (i % 13 === 0 && out.length < n) out.push({ path, pool, headers: { 'x-canary': '1' }, stripPrefix: false })
  }
  return out
}

interface Request { path: string; method: string; host: string }

function requests (specs: readonly RouteSpec[]): Request[] {
  const services = specs.filter((r) => r.path !== '/').map((r) => r.path)
  let seed = 12345
  const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296 }
  return Array.from({ length: 4096 }, (_, i) => {
    const service = services[Math.floor(next() * services.length)]!
    const path = i % 16 === 15 ? `/unknown${i}/x` : `${service}/v1/items/${i}`
    return { path, method: i % 5 === 0 ? 'POST' : 'GET', host: i % 3 === 0 ? `svc${i % 100}.example.com:8080` : 'gateway.example.com' }
  })
}

function time (size: number): { median: number; min: number } {
  const specs = routes(size)
  const table = new RoutingTable(specs)
  const reqs = requests(specs)
  const headers = (name: string): string | undefined => (name === 'x-canary' ? '0' : undefined)
  let sink = 0
  const loop = (iterations: number): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) {
      const r = reqs[i & 4095]!
      sink += table.match(r.path, r.method, r.host, headers)?.route.index ?? -1
    }
    return Number(process.hrtime.bigint() - start)
  }
  let iterations = 16
  while (loop(iterations) < RUN_MS * 1e6 && iterations < 1 << 30) iterations *= 2
  const per = Array.from({ length: RUNS }, () => loop(iterations) / iterations)
  if (sink === 0.5) process.stderr.write('') // keeps the matches observable
  return { median: median(per), min: Math.min(...per) }
}

const { values } = parseArgs({ options: { one: { type: 'string' } } })
if (values.one !== undefined) {
  time(1) // warm-up: JIT tiering out of the first timed cell
  process.stdout.write(JSON.stringify(time(Number(values.one))))
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const self = fileURLToPath(import.meta.url)
  const cells: string[] = []
  for (const size of SIZES) {
    const argv = [process.execPath, self, '--one', String(size)]
    const [cmd, ...args] = canPin ? ['taskset', '-c', '0', ...argv] : argv
    const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'inherit'] })
    if (r.status !== 0) throw new Error(`timing ${size} routes failed (${r.signal ?? r.status})`)
    const v = JSON.parse(r.stdout) as { median: number; min: number }
    cells.push(`${v.median.toFixed(0)} (${v.min.toFixed(0)})`)
  }
  process.stdout.write([
    `RoutingTable.match(), ns per match: median (minimum) of ${RUNS} runs of ~${RUN_MS} ms; Node ${process.version}${canPin ? ', pinned to CPU 0' : ''}; one process per size.`,
    '',
    `| routes | ${SIZES.map((s) => s.toLocaleString('en-US')).join(' | ')} |`,
    `| --- | ${SIZES.map(() => '---:').join(' | ')} |`,
    `| ns per match | ${cells.join(' | ')} |`,
    '',
  ].join('\n'))
}
