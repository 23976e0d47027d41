// `npm run bench:instructions` (node bench/instructions.ts [options]): instructions executed per request by each
// contender, counted by valgrind's callgrind, which counts the same for the same work however busy the machine
// is (the CPU-µs figures of `npm run bench` move ±30% between rounds on a shared host). Each contender runs
// under callgrind with counting off; after a warm-up, counting is turned on for a series of windows of exactly
// n requests each, from a keep-alive client of our own (bench/counting-client.ts), each window dumped and read.
// User space only: the kernel's work for the proxy's syscalls is not counted. Options: --contenders --requests
// (per window) --windows --connections --warmup --settle --repeats --top --keep <dir> --no-record.
// BENCH_BASELINE=<checkout> adds contender baseline-full (bench/contenders.ts). See bench/NOTES.md.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CallgrindControl, PERF_MAP_FLAG, valgrindPrefix } from './callgrind-run.ts'
import { endChildrenOnExit, stopAll, stopProcess } from './children.ts'
import { CONTENDERS, startContender, type Contender } from './contenders.ts'
import { CountingClient } from './counting-client.ts'
import { byCategory, COMPILER_PART } from './instruction-categories.ts'
import {
  categoryTable, countTable, differenceTable, figure, FIGURE, threadTable, unnamedShare, windowLines, type CountWindow, type InstructionRun,
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
    requests: { type: 'string', default: '1500' },
    windows: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50,256' },
    warmup: { type: 'string', default: '100000' },
    settle: { type: 'string', default: '10000' },
    repeats: { type: 'string', default: '2' },
    top: { type: 'string', default: '15' },
    keep: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
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
  top: num(flags.top),
}
/**
 * Under valgrind a request takes 50-100× its native time: Switchyard's time limits are stretched this much
 * (bench/time-scale.ts), or c=256 runs into the 2 s per-try timeout and timers fire 50× as often per request.
 */
const TIME_SCALE = 50
const specs = flags.contenders.split(',').map((name) => {
  const spec = CONTENDERS.find((c) => c.name === name)
  if (spec === undefined) throw new Error(`unknown contender ${name}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
  return spec
})
const names = specs.map((s) => s.name)
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
let originDescription = ''
try {
  const { origin } = await prepareLoadSide(dir, LOAD_CPU, log)
  originDescription = origin.description
  /** A contender under callgrind, started as the bench starts it. */
  const start = async (spec: (typeof specs)[number]): Promise<Running> => {
    const t0 = Date.now()
    const outFile = join(dumps, `callgrind.out.${spec.name}.%p`)
    // Switchyard's shipped heap flags for every contender, the floor included (which `npm run bench` runs with
    // V8's defaults): with the defaults V8 sizes the young generation by heuristics some of which go by the clock,
    // which valgrind slows 50-100×, and the floor ran full collections twice as often as with the shipped flags.
    const heap = NODE_FLAGS.filter((f) => !spec.nodeFlags.includes(f))
    // baseline-full: this tree's gateway script over the other tree's sources, so its time limits stretch too
    const baseline = spec.name === 'baseline-full' ? process.env.BENCH_BASELINE : undefined
    const run = baseline === undefined ? spec : { ...spec, script: 'gateway-server.ts' }
    const contender = await startContender(run, origin, flags.keep ?? dir, PROXY_CPU, [...heap, PERF_MAP_FLAG], {
      prefix: valgrindPrefix(outFile),
      readyTimeoutMs: 300_000,
      env: { BENCH_TIME_SCALE: String(TIME_SCALE), ...(baseline === undefined ? {} : { BENCH_TREE: baseline }) },
    })
    const callgrind = new CallgrindControl(contender.pid, outFile, flags.keep !== undefined)
    perfMaps.push(callgrind.perfMap)
    log(`${spec.name}: ready under callgrind in ${((Date.now() - t0) / 1000).toFixed(0)} s (pid ${contender.pid})`)
    await checkAnswer(contender)
    return { contender, callgrind }
  }

  // Each round starts every contender afresh and measures it straight after its warm-up: a contender left idle
  // for minutes (as interleaving within one process would) had V8 shrink its heap and drop optimized code, and
  // came back at up to 40% more instructions per request. Rounds are independent processes, in rotated order.
  for (let round = 1; round <= plan.repeats; round++) {
    const order = specs.map((_, i) => specs[(i + round - 1) % specs.length]!)
    for (const spec of order) {
      const t0 = Date.now()
      const r = await start(spec)
      const client = new CountingClient(`${r.contender.url}/`, plan.connections[0]!)
      await uncounted(r, client, plan.warmup, 'warm-up')
      client.close()
      for (const connections of plan.connections) {
        const run = await measure(r, connections, round)
        runs.push(run)
        const seconds = run.windows.reduce((s, w) => s + w.seconds, 0)
        log(`round ${round} ${spec.name} c=${connections}: ${fmt(figure(run))} instructions/request; ${windowLines([run])[0]!.replace(/^- [^:]*: /, 'windows ')}; ${seconds.toFixed(0)} s counting`)
      }
      await stopProcess(r.contender.child, 60_000)
      rmSync(r.callgrind.perfMap, { force: true })
      log(`${spec.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s in all`)
    }
  }
  // with --keep, the measurements too, so that a report can be made again from them
  if (flags.keep !== undefined) writeFileSync(join(flags.keep, 'runs.json'), JSON.stringify(runs))
  const report = renderReport()
  process.stdout.write(`\n${report}\n`)
  if (!flags['no-record']) {
    const file = join(here, 'instructions-results.md')
    writeFileSync(file, `${readFileSync(file, 'utf8').trimEnd()}\n\n${report.trim()}\n`)
    log(`appended to ${file}`)
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
      const compiling = byCategory(rest.functions, 1).get(COMPILER_PART) ?? 0
      out.push({ ...rest, requests, seconds: run.seconds, mainThread: threads.find((t) => t.thread === 1)?.ir ?? 0, compiling })
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

/** A proxy that answers wrongly would be counted answering wrongly. */
async function checkAnswer (c: Contender): Promise<void> {
  const res = await fetch(`${c.url}/`)
  const body = await res.text()
  if (res.status !== 200 || body !== SMALL_JSON) throw new Error(`${c.spec.name}: GET / answered ${res.status} ${body.slice(0, 200)}`)
}

function renderReport (): string {
  const args = process.argv.slice(2).join(' ')
  const full = names.includes('switchyard-full') ? 'switchyard-full' : names[names.length - 1]!
  const baseline = process.env.BENCH_BASELINE === undefined ? '' : `BENCH_BASELINE=${process.env.BENCH_BASELINE} `
  const sections = [
    `## Instructions per request (callgrind), ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `\`${baseline}node bench/instructions.ts${args === '' ? '' : ` ${args}`}\``,
    '',
    `- What: user-space instructions executed by the proxy process (every thread), counted by valgrind ${valgrindVersion()} ` +
      '(`--tool=callgrind --instr-atstart=no --separate-threads=yes`), over the requests answered. ' +
      '**The kernel\'s work for the proxy (syscalls: epoll, reads, writev, accept) is not counted**, nor cache misses, branch mispredictions or waiting: ' +
      'an instruction count is not CPU time, but it is the same for the same work whatever else the machine runs.',
    `- How: each contender started as \`npm run bench\` starts it (same script and environment) under callgrind with counting off, plus \`${PERF_MAP_FLAG}\` so that its JIT code is named, ` +
      `Switchyard's heap flags (\`${NODE_FLAGS.join(' ')}\`) for the floor too (with V8's defaults the young generation is sized partly by the clock, which valgrind slows 50-100×), ` +
      `and Switchyard's time limits stretched ${TIME_SCALE}× (bench/time-scale.ts; the floor has none). ` +
      `${plan.repeats} rounds, each starting every contender afresh, in rotated order: ${fmt(plan.warmup)} requests of warm-up at c=${plan.connections[0]} (uncounted), then a measurement at each of ${plan.connections.join(' and ')} connections. ` +
      `A measurement opens its connections, sends ${fmt(plan.settle)} uncounted requests, then counts ${plan.windows} windows of exactly ${fmt(plan.requests)} GETs of / ` +
      `(100-byte JSON from ${originDescription}), dumping after each. The client keeps its connections from window to window and sends wrk's request bytes on raw sockets; it and the origin run outside valgrind.`,
    `- The figure: ${FIGURE}`,
    `- Machine: ${cpuModel()}; Linux ${release()}; Node ${process.version}; load average ${loadAtStart} at start, ${loadAverage()} at end (it changes the wall time, not the counts); ${((Date.now() - started.getTime()) / 60_000).toFixed(0)} min in all.`,
    '',
    countTable(runs, names, plan.connections),
    '',
    'Each window in order, in thousands of instructions per request, compiling left out ("*": a quiet window; else the compiling and "GC" for a full collection):',
    '',
    ...windowLines(runs),
    '',
    'By thread (thread 1 runs JavaScript and the event loop; the others are V8\'s platform workers: scavenging and marking helpers, sweeping, optimizing compiles):',
    '',
    threadTable(runs, names, plan.connections),
  ]
  for (const c of plan.connections) {
    sections.push('', `Where the instructions go at c=${c}, by part (self cost per request; a builtin or V8 runtime function is counted where it is, not in the JavaScript that called it):`, '', categoryTable(runs, names, c))
    if (names.includes('floor') && full !== 'floor') {
      sections.push('', `The ${plan.top} functions where ${full} spends the most more than the floor at c=${c}:`, '', differenceTable(runs, 'floor', full, c, plan.top))
    }
  }
  sections.push('', `JIT code no perf-map line names: ${names.map((n) => `${n} ${(unnamedShare(runs, n, plan.connections[0]!) * 100).toFixed(1)}%`).join(', ')} of the instructions at c=${plan.connections[0]}.`)
  return sections.join('\n')
}

function valgrindVersion (): string {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/^valgrind-/, '')
}
