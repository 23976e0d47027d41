// `npm run bench:instructions` (node bench/instructions.ts [options]): instructions executed per request by each
// contender, counted by valgrind's callgrind, which counts the same for the same work however busy the machine
// is (the CPU-µs figures of `npm run bench` move ±30% between rounds on a shared host). Each contender runs
// under callgrind with counting off; after a warm-up, counting is turned on for a series of windows of exactly
// n requests each, from a keep-alive client of our own (bench/counting-client.ts), each window dumped and read.
// Afterwards, counting on with no requests measures what its timers cost a second.
// User space only: the kernel's work for the proxy's syscalls is not counted. Options: --contenders --requests
// (per window) --windows --connections --warmup --settle --repeats --idle-seconds --top --time-scale --heap-flags
// --name-jit --curve <steps> --keep <dir> --no-record. See bench/NOTES.md.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CallgrindControl, PERF_MAP_FLAG, valgrindPrefix } from './callgrind-run.ts'
import { endChildrenOnExit, stopAll, stopProcess } from './children.ts'
import { CONTENDERS, startContender, type Contender } from './contenders.ts'
import { CountingClient } from './counting-client.ts'
import { byCategory, COMPILER_PART, GC_PART } from './instruction-categories.ts'
import {
  categoryTable, countTable, differenceTable, quietPerRequest, secondsPerRequest, threadTable, topTable, unnamedShare, windowLines,
  type CountWindow, type InstructionRun,
} from './instruction-report.ts'
import { SMALL_JSON } from './origin-answer.ts'
import { NODE_FLAGS } from '../src/lifecycle/node-flags.ts'
import { cpuModel, loadAverage } from './proc.ts'
import { prepareLoadSide } from './setup.ts'

const here = dirname(fileURLToPath(import.meta.url))
const PROXY_CPU = 0
const LOAD_CPU = 1

const { values: flags } = parseArgs({
  options: {
    contenders: { type: 'string', default: 'floor,switchyard-min,switchyard-full' },
    requests: { type: 'string', default: '3000' },
    windows: { type: 'string', default: '12' },
    connections: { type: 'string', default: '50,256' },
    warmup: { type: 'string', default: '100000' },
    settle: { type: 'string', default: '30000' },
    repeats: { type: 'string', default: '2' },
    'idle-seconds': { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
    'name-jit': { type: 'boolean', default: false },
    curve: { type: 'string' },
    keep: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    'time-scale': { type: 'string', default: '50' },
    'heap-flags': { type: 'string', default: 'shipped' },
  },
})
const num = (v: string | undefined, least = 1): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < least) throw new Error(`not a whole number ≥ ${least}: ${v}`)
  return n
}
const plan = {
  requests: num(flags.requests),
  windows: num(flags.windows),
  connections: flags.connections.split(',').map((c) => num(c)),
  warmup: num(flags.warmup, 0),
  settle: num(flags.settle, 0),
  repeats: num(flags.repeats),
  idleSeconds: num(flags['idle-seconds'], 0),
  top: num(flags.top),
  curve: flags.curve === undefined ? undefined : num(flags.curve),
  timeScale: num(flags['time-scale']),
  heapFlags: flags['heap-flags'],
}
if (plan.heapFlags !== 'shipped' && plan.heapFlags !== 'bench') throw new Error(`--heap-flags is 'shipped' or 'bench', not ${plan.heapFlags}`)
const specs = flags.contenders.split(',').map((name) => {
  const spec = CONTENDERS.find((c) => c.name === name)
  if (spec === undefined) throw new Error(`unknown contender ${name}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
  return spec
})
const names = specs.map((s) => s.name)
const nameJit = flags['name-jit']
// a curve checks the warm-up; it is not a result
const record = plan.curve === undefined && !flags['no-record']
const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

for (const tool of ['valgrind', 'callgrind_control']) {
  if (spawnSync(tool, ['--version']).status !== 0) throw new Error(`${tool} is not installed (Debian: apt-get install valgrind)`)
}
endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-instr-'))
const dumps = flags.keep ?? join(dir, 'callgrind')
mkdirSync(dumps, { recursive: true })
const perfMaps: string[] = []
process.once('exit', () => {
  rmSync(dir, { recursive: true, force: true })
  for (const m of perfMaps) rmSync(m, { force: true })
})

interface Running { contender: Contender, callgrind: CallgrindControl }

const started = new Date()
const loadAtStart = loadAverage()
const runs: InstructionRun[] = []
/** Per contender, instructions per second idle, one figure per process. */
const idleRates = new Map<string, number[]>()
let originDescription = ''
try {
  const { origin } = await prepareLoadSide(dir, LOAD_CPU, log)
  originDescription = origin.description
  /** A contender under callgrind, started as the bench starts it. */
  const start = async (spec: (typeof specs)[number]): Promise<Running> => {
    const t0 = Date.now()
    const outFile = join(dumps, `callgrind.out.${spec.name}.%p`)
    // with --keep, the access logs stay beside the dumps
    // --heap-flags shipped (the default): a contender the bench runs with V8's default heap sizing (the floor) gets
    // Switchyard's shipped flags here, so every contender has the same fixed young generation. With the defaults,
    // V8 sizes it by heuristics some of which go by the clock, which valgrind slows 50-100×: the floor ran full
    // collections twice as often as with the shipped flags, and each costs a burst of marking and recompiles.
    const heap = plan.heapFlags === 'shipped' ? NODE_FLAGS.filter((f) => !spec.nodeFlags.includes(f)) : []
    const contender = await startContender(spec, origin, flags.keep ?? dir, PROXY_CPU, [...heap, ...(nameJit ? [PERF_MAP_FLAG] : [])], {
      prefix: valgrindPrefix(outFile),
      readyTimeoutMs: 300_000,
      env: { BENCH_TIME_SCALE: String(plan.timeScale) },
    })
    const callgrind = new CallgrindControl(contender.pid, outFile, flags.keep !== undefined)
    perfMaps.push(callgrind.perfMap)
    log(`${spec.name}: ready under callgrind in ${((Date.now() - t0) / 1000).toFixed(0)} s (pid ${contender.pid})`)
    await checkAnswer(contender)
    return { contender, callgrind }
  }

  if (plan.curve !== undefined) {
    for (const spec of specs) {
      const r = await start(spec)
      await warmupCurve(r, plan.curve)
      await stopProcess(r.contender.child, 60_000)
    }
  } else {
    // Each round starts every contender afresh and measures it straight after its warm-up: a contender left idle
    // for minutes (as interleaving within one process would) had V8 shrink its heap and drop optimized code, and
    // came back at up to 40% more instructions per request. Rounds are independent processes, in rotated order.
    for (let round = 1; round <= plan.repeats; round++) {
      const order = specs.map((_, i) => specs[(i + round - 1) % specs.length]!)
      for (const spec of order) {
        const r = await start(spec)
        const client = new CountingClient(`${r.contender.url}/`, plan.connections[0]!)
        await uncounted(r, client, plan.warmup, 'warm-up')
        client.close()
        for (const connections of plan.connections) {
          const run = await measure(r, connections, round)
          runs.push(run)
          const seconds = run.windows.reduce((s, w) => s + w.seconds, 0)
          log(`round ${round} ${spec.name} c=${connections}: quiet windows ${fmt(quietPerRequest(run))} instructions/request; ${windowLines([run])[0]!.replace(/^- [^:]*: /, 'windows ')}; ${seconds.toFixed(0)} s counting`)
        }
        if (plan.idleSeconds > 0) idleRates.set(spec.name, [...idleRates.get(spec.name) ?? [], await idleRate(r)])
        await stopProcess(r.contender.child, 60_000)
        rmSync(r.callgrind.perfMap, { force: true })
      }
    }
    const report = renderReport()
    process.stdout.write(`\n${report}\n`)
    if (record) {
      const file = join(here, 'RESULTS.md')
      writeFileSync(file, `${readFileSync(file, 'utf8').trimEnd()}\n\n${report.trim()}\n`)
      log(`appended to ${file}`)
    }
  }
} finally {
  await stopAll()
}

/** Slow under valgrind, but never stuck: ~1,000 req/s uncounted, ~100 counted at the slowest. */
function clientTimeout (requests: number): number { return 120_000 + requests * 40 }

/** Uncounted requests: the warm-up that brings the JIT to its steady state, or the settling before a measurement. */
async function uncounted (r: Running, client: CountingClient, requests: number, what: string): Promise<void> {
  if (requests === 0) return
  const run = await client.send(requests, clientTimeout(requests))
  failOnErrors(r, run.non2xx, `the ${what}`)
  log(`${r.contender.spec.name}: ${what}, ${fmt(requests)} requests, ${(requests / run.seconds).toFixed(0)} req/s uncounted`)
}

/** A window with error answers counted the errors' path, not the requests'. */
function failOnErrors (r: Running, non2xx: Record<number, number>, where: string): void {
  if (Object.keys(non2xx).length > 0) throw new Error(`${r.contender.spec.name}: non-2xx answers in ${where}: ${JSON.stringify(non2xx)}`)
}

/** Counting on; `windows` windows of exactly `requests` requests, each dumped and read; counting off. */
async function countWindows (r: Running, client: CountingClient, windows: number, requests: number): Promise<CountWindow[]> {
  const out: CountWindow[] = []
  r.callgrind.instrument(true)
  try {
    for (let i = 0; i < windows; i++) {
      const run = await client.send(requests, clientTimeout(requests))
      failOnErrors(r, run.non2xx, 'a counted window')
      // the last window is dumped once counting is off, so nothing after it is counted
      if (i === windows - 1) r.callgrind.instrument(false)
      const counted = r.callgrind.dump()
      const { threads, ...rest } = counted
      out.push({ ...rest, requests, seconds: run.seconds, mainThread: threads.find((t) => t.thread === 1)?.ir ?? 0 })
    }
  } finally {
    r.callgrind.instrument(false)
  }
  return out
}

/** A fresh set of connections, settled (uncounted) at this concurrency, then the counted windows. */
async function measure (r: Running, connections: number, round: number): Promise<InstructionRun> {
  const client = new CountingClient(`${r.contender.url}/`, connections)
  try {
    await uncounted(r, client, plan.settle, `settle at c=${connections}`)
    return { contender: r.contender.spec.name, connections, round, windows: await countWindows(r, client, plan.windows, plan.requests) }
  } finally {
    client.close()
  }
}

/**
 * Instructions per second with no requests at all: timers, health checks, metrics housekeeping. The collector's
 * and the compilers' are left out: idle, V8 finishes compiles and shrinks its heap, which it does not under load.
 */
async function idleRate (r: Running): Promise<number> {
  // the measurement's connections were just closed: their teardown (256 sockets at c=256) is not idle work
  await sleep(5000)
  r.callgrind.instrument(true)
  const t0 = process.hrtime.bigint()
  await sleep(plan.idleSeconds * 1000)
  r.callgrind.instrument(false)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const parts = byCategory(r.callgrind.dump().functions, 1)
  const rate = [...parts].filter(([part]) => part !== GC_PART && part !== COMPILER_PART).reduce((s, [, ir]) => s + ir, 0) / seconds
  log(`${r.contender.spec.name}: ${fmt(rate)} instructions/s idle`)
  return rate
}

/** `--curve <steps>`: warm-up in steps, each followed by a counted window, to see where instructions per request stop falling. */
async function warmupCurve (r: Running, steps: number): Promise<void> {
  const c = plan.connections[0]!
  const lines = ['| contender | requests before the window | instructions per request | main thread | other threads | full GCs |', '| --- | ---: | ---: | ---: | ---: | ---: |']
  const client = new CountingClient(`${r.contender.url}/`, c)
  let before = 0
  for (let step = 0; step <= steps; step++) {
    const [w] = await countWindows(r, client, 1, plan.requests)
    lines.push(`| ${r.contender.spec.name} | ${fmt(before)} | ${fmt(w!.total / w!.requests)} | ${fmt(w!.mainThread / w!.requests)} | ${fmt((w!.total - w!.mainThread) / w!.requests)} | ${w!.fullGcs} |`)
    log(lines[lines.length - 1]!)
    before += plan.requests
    if (step < steps) {
      const block = Math.ceil(plan.warmup / steps)
      await uncounted(r, client, block, 'warm-up step')
      before += block
    }
  }
  client.close()
  process.stdout.write(`\nWarm-up curve, c=${c}, windows of ${fmt(plan.requests)} requests:\n\n${lines.join('\n')}\n`)
}

/** A proxy that answers wrongly would be counted answering wrongly. */
async function checkAnswer (c: Contender): Promise<void> {
  const res = await fetch(`${c.url}/`)
  const body = await res.text()
  if (res.status !== 200 || body !== SMALL_JSON) throw new Error(`${c.spec.name}: GET / answered ${res.status} ${body.slice(0, 200)}`)
}

function renderReport (): string {
  const args = process.argv.slice(2).join(' ')
  const full = names.includes('switchyard-full') ? 'switchyard-full' : names[names.length - 1]!
  const idle = names.flatMap((name) => {
    const rates = idleRates.get(name)
    if (rates === undefined) return []
    const rate = rates.reduce((s, x) => s + x, 0) / rates.length
    const each = plan.connections.map((c) => `${fmt(rate * secondsPerRequest(runs, name, c))} at c=${c}`)
    return [`${name} ${rates.map(fmt).join(' / ')} a second, i.e. ${each.join(', ')} per counted request`]
  })
  const sections = [
    `## Instructions per request (callgrind), ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `\`node bench/instructions.ts${args === '' ? '' : ` ${args}`}\``,
    '',
    `- What: user-space instructions executed by the proxy process (every thread), counted by valgrind ${valgrindVersion()} ` +
      '(`--tool=callgrind --instr-atstart=no --separate-threads=yes --smc-check=all-non-file`), over the requests answered. ' +
      '**The kernel\'s work for the proxy (syscalls: epoll, reads, writev, accept) is not counted**, nor cache misses, branch mispredictions or waiting: ' +
      'an instruction count is not CPU time, but it is the same for the same work whatever else the machine runs.',
    `- How: each contender started as \`npm run bench\` starts it (same script, node flags and environment, BENCH_TIME_SCALE aside${nameJit ? `, plus \`${PERF_MAP_FLAG}\` so that its JIT code can be named` : ''}) under callgrind with counting off. ` +
      `${plan.repeats} rounds, each starting every contender afresh, in rotated order: ${fmt(plan.warmup)} requests of warm-up at c=${plan.connections[0]} (uncounted), then a measurement at each of ${plan.connections.join(' and ')} connections. ` +
      `A measurement opens its connections, sends ${fmt(plan.settle)} uncounted requests, then counts ${plan.windows} windows of exactly ${fmt(plan.requests)} GETs of / ` +
      `(100-byte JSON from ${originDescription}), dumping after each. The client keeps its connections from window to window and sends wrk's request bytes on raw sockets; it and the origin run outside valgrind.`,
    '- The figure is instructions per request over each measurement\'s quiet windows, the lowest third (marked * below). A full (mark-compact) collection makes its window ' +
      'cost up to twice the others, and the next few windows 10-50% more while V8 recompiles code it deoptimized; the first ~12,000 requests on new connections cost more too. ' +
      'Between those transients the windows agree within ~1%: that steady state is what a change in the request path moves. "All windows" keeps the transients in; ' +
      'how often they come under valgrind is not how often they come natively (full collections follow the young generation\'s sizing, which V8 sets by the clock).',
    `- Machine: ${cpuModel()}; Linux ${release()}; Node ${process.version}; load average ${loadAtStart} at start, ${loadAverage()} at end (it changes the wall time, not the counts).`,
    ...(plan.heapFlags !== 'shipped' ? [] : [`- Heap flags: every contender runs with Switchyard's shipped V8 flags (\`${NODE_FLAGS.join(' ')}\`), the floor included, which \`npm run bench\` runs with Node's defaults: ` +
      'then every contender has the same fixed young generation. With the defaults, V8 sizes it by heuristics some of which go by the clock, which valgrind slows 50-100×, ' +
      'and the floor ran full collections about twice as often (2 in 27,000 counted requests, against 1 in 27,000-42,000 with the shipped flags). `--heap-flags bench` runs the bench\'s flags.']),
    `- Time: Switchyard's time limits (timeouts, health-check interval, breaker window, Node's connection checks) stretched ${plan.timeScale}× (bench/time-scale.ts): under valgrind a request takes 50-100× its native time, and unstretched, c=256 ran into the 2 s per-try timeout and timers would fire 50-100× as often per request. The floor has no such limits to stretch.`,
    ...(idle.length === 0 ? [] : [`- Idle (no requests, counting on for ${plan.idleSeconds} s; the collector and compilers left out): ${idle.join('; ')}. This wall-clock work is in every window; natively it is 50-100× smaller per request.`]),
    '',
    countTable(runs, names, plan.connections),
    '',
    'Each window in order, in thousands of instructions per request ("*": a quiet window; "GC": a full collection in the window):',
    '',
    ...windowLines(runs),
    '',
    'By thread, over the quiet windows (thread 1 runs JavaScript and the event loop; the others are V8\'s platform workers: scavenging and marking helpers, sweeping, optimizing compiles):',
    '',
    threadTable(runs, names, plan.connections),
  ]
  for (const c of plan.connections) {
    sections.push('', `Where the instructions go at c=${c}, by part (self cost per request over the quiet windows):`, '', categoryTable(runs, names, c))
    if (names.includes('floor') && full !== 'floor') {
      sections.push('', `The ${plan.top} functions where ${full} spends the most more than the floor at c=${c}:`, '', differenceTable(runs, 'floor', full, c, plan.top))
    }
  }
  for (const name of names) {
    const c = plan.connections[0]!
    sections.push('', `${name}'s top ${plan.top} functions at c=${c} (unnamed JIT code: ${(unnamedShare(runs, name, c) * 100).toFixed(1)}% of its instructions):`, '', topTable(runs, name, c, plan.top))
  }
  return sections.join('\n')
}

function valgrindVersion (): string {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^valgrind-/, '')
}
