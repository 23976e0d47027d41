// `npm run bench`: origin, Switchyard and raw @fastify/http-proxy on loopback, each loaded in turn with
// autocannon. The proxy under test is pinned to core 0; origin and load generator share core 1.
// Prints a table and writes bench/RESULTS.md. Stops by itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NODE_FLAGS } from '../src/lifecycle/node-flags.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 3)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '50,256').split(',').map(Number)
// Instructions retired per request (perf, from Debian's linux-perf) hardly move with a noisy neighbour.
const hasPerf = spawnSync('perf', ['stat', '-x,', '-e', 'instructions', 'true']).status === 0
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2

function pinned (core: number, cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]
}

async function start (core: number, script: string, args: string[], flags: readonly string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const [cmd, argv] = pinned(core, process.execPath, [...flags, join(here, script), ...args])
  const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /READY (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
  return { child, url }
}

function rssMiB (pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch { return 0 }
}

interface Result { name: string; connections: number; rps: number; p50: number; p99: number; errors: number; non2xx: number; peakRssMiB: number; cpuUsPerRequest: number; kInstrPerRequest: number }

/** CPU time (user + system) a process has used, in µs. Less sensitive than req/s to a noisy, shared machine. */
function cpuMicros (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux)
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

async function load (url: string, connections: number, seconds: number, pid: number): Promise<Omit<Result, 'name'>> {
  const [cmd, argv] = pinned(1, process.execPath, [join(root, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), url])
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] })
  let peak = 0
  const cpuBefore = cpuMicros(pid)
  const perf = hasPerf ? spawn('perf', ['stat', '-x,', '-e', 'instructions', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] }) : undefined
  let perfOut = ''
  perf?.stderr.on('data', (d: Buffer) => { perfOut += d.toString() })
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(pid)) }, 250)
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise((resolve) => child.once('exit', resolve))
  clearInterval(sampler)
  const cpu = cpuMicros(pid) - cpuBefore
  if (perf) {
    perf.kill('SIGINT')
    await new Promise((resolve) => perf.once('exit', resolve))
  }
  const instructions = Number(/^(\d+),/m.exec(perfOut)?.[1] ?? NaN)
  const r = JSON.parse(out) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; timeouts: number; non2xx: number }
  return { connections, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, peakRssMiB: Math.round(peak), cpuUsPerRequest: cpu / Math.max(1, r.requests.total), kInstrPerRequest: instructions / Math.max(1, r.requests.total) / 1000 }
}

interface Proxy { name: string; child: ChildProcess; url: string }

/** Median by req/s of the rounds' results for one proxy and connection count. */
function median (rows: Result[]): Result {
  const sorted = [...rows].sort((a, b) => a.rps - b.rps)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function stop (child: ChildProcess): Promise<void> {
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
}

const origin = await start(1, 'origin.ts', [])
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const proxies: Proxy[] = []
try {
  // All three run side by side, pinned to the same core (an idle one costs nothing), and are loaded in
  // turn, round after round: this machine's speed drifts, and interleaving spreads the drift over all of them.
  for (const [name, script, args] of [
    ['raw @fastify/http-proxy', 'raw-proxy.ts', [origin.url]],
    ['switchyard (1 route)', 'gateway-server.ts', [origin.url, '0']],
    ['switchyard (10,000 routes)', 'gateway-server.ts', [origin.url, '9999']],
  ] as const) {
    // Switchyard runs as it ships (its V8 flags); the baseline runs with Node's defaults
    const { child, url } = await start(0, script, [...args], script === 'gateway-server.ts' ? NODE_FLAGS : [])
    proxies.push({ name, child, url })
  }
  const all: Result[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of CONNECTIONS) {
      for (const p of proxies) {
        await load(p.url, c, WARMUP, p.child.pid!)
        const r = await load(p.url, c, DURATION, p.child.pid!)
        all.push({ name: p.name, ...r })
        process.stderr.write(`round ${round} ${p.name} c=${c}: ${Math.round(r.rps)} req/s, p99 ${r.p99} ms, errors ${r.errors}, non2xx ${r.non2xx}\n`)
      }
    }
  }
  const pick = (name: string): Result[] => CONNECTIONS.map((c) => median(all.filter((r) => r.name === name && r.connections === c)))
  const raw = pick(proxies[0]!.name)
  const gw = pick(proxies[1]!.name)
  const gw10k = pick(proxies[2]!.name)
  const rows = [...raw, ...gw, ...gw10k]
  const rawRow = new Map(raw.map((r) => [r.connections, r]))
  const oneRoute = new Map(gw.map((r) => [r.connections, r]))
  const pct = (a: number, b: number): string => `${((a / b - 1) * 100).toFixed(1)}%`
  const lines = [
    '| proxy | connections | req/s | p50 ms | p99 ms | errors | non-2xx | peak RSS MiB | CPU µs/req | k instr/req | req/s vs raw | CPU/req vs raw | instr/req vs raw | 10k routes vs 1: req/s, CPU/req, instr/req |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const base = rawRow.get(r.connections)!
      const one = oneRoute.get(r.connections)!
      return `| ${r.name} | ${r.connections} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${r.peakRssMiB} | ${Math.round(r.cpuUsPerRequest)} | ${r.kInstrPerRequest.toFixed(0)} | ` +
        `${(r.rps / base.rps).toFixed(2)}× | ${(r.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(2)}× | ${(r.kInstrPerRequest / base.kInstrPerRequest).toFixed(2)}× | ` +
        `${r.name.includes('10,000') ? `${pct(r.rps, one.rps)}, ${pct(r.cpuUsPerRequest, one.cpuUsPerRequest)}, ${pct(r.kInstrPerRequest, one.kInstrPerRequest)}` : ''} |`
    }),
  ]
  const table = lines.join('\n')
  process.stdout.write(table + '\n')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${hasTaskset ? 'proxy pinned to core 0 with taskset, origin and autocannon on core 1' : 'no taskset: unpinned'}`
  writeFileSync(join(here, 'RESULTS.md'), `# Benchmark results\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine}.\n` +
    `Each row: the median (by req/s) of ${ROUNDS} rounds; a round is ${WARMUP} s of warm-up, then ${DURATION} s of autocannon at the given connections against GET /, a small fixed body from a keep-alive origin.\n` +
    'Switchyard runs with its balancer and one JSON access-log line per request (to a file); raw @fastify/http-proxy logs nothing.\n\n' + table + '\n' +
    (existsSync(join(here, 'NOTES.md')) ? `\n${readFileSync(join(here, 'NOTES.md'), 'utf8')}` : ''))
} finally {
  for (const p of proxies) await stop(p.child)
  await stop(origin.child)
}
