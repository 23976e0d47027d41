// `npm run bench` (node bench/run.ts [--quick] [options]): wrk against four proxies in front of an nginx origin,
// proxy pinned to CPU 0, wrk and nginx to CPU 1. Contenders are interleaved within every round; each figure is
// the median over rounds. CPU per request comes from the proxy's own /proc/<pid>/stat, so it holds even when
// req/s is limited by something else. Prints a markdown report and appends it to bench/RESULTS.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { canPin, endChildrenOnExit, stopAll } from './children.ts'
import { CONTENDERS, startContender, type Contender } from './contenders.ts'
import type { LoadRequest } from './load.ts'
import { SMALL_JSON, UPLOAD_ANSWER, UPLOAD_BYTES, UPLOAD_PATH } from './origin-answer.ts'
import { clockTicksPerSecond, cpuModel, cpuTicks, loadAverage, peakRssKiB, resetPeakRss } from './proc.ts'
import { getTable, headline, pairedBars, postTable, summarise, type Case, type Measurement } from './report.ts'
import { appendRun } from './results-file.ts'
import { prepareLoadSide } from './setup.ts'

const here = dirname(fileURLToPath(import.meta.url))
const PROXY_CPU = 0
const LOAD_CPU = 1
const BODY = { bytes: UPLOAD_BYTES, contentType: 'application/octet-stream' }

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    'post-seconds': { type: 'string' },
    'post-warmup': { type: 'string' },
    'post-connections': { type: 'string' },
    contenders: { type: 'string' },
    record: { type: 'boolean' },
    'no-record': { type: 'boolean' },
  },
})
const quick = flags.quick
const num = (v: string | undefined, fallback: number, least = 1): number => {
  const n = v === undefined ? fallback : Number(v)
  if (!Number.isInteger(n) || n < least) throw new Error(`not a whole number ≥ ${least}: ${v}`)
  return n
}
const plan = {
  rounds: num(flags.rounds, quick ? 1 : 3),
  seconds: num(flags.seconds, quick ? 3 : 10),
  warmup: num(flags.warmup, quick ? 1 : 3),
  connections: (flags.connections ?? '50,256').split(',').map((c) => num(c, 0)),
  postSeconds: num(flags['post-seconds'], quick ? 2 : 5),
  // the GET warm-up has already warmed the proxy; a quick run skips the upload's own
  postWarmup: num(flags['post-warmup'], quick ? 0 : 1, 0),
  postConnections: num(flags['post-connections'], 8),
}
// the scale contenders run when named (npm run bench:scale), keeping the default run under 10 minutes
const specs = flags.contenders === undefined ? CONTENDERS.filter((c) => c.onlyWhenNamed !== true) : flags.contenders.split(',').map((name) => {
  const spec = CONTENDERS.find((c) => c.name === name)
  if (spec === undefined) throw new Error(`unknown contender ${name}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
  return spec
})
// a quick run proves the harness; it is not a result unless asked for
const record = flags['no-record'] === true ? false : flags.record ?? !quick

const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const perContender = plan.warmup + plan.connections.length * plan.seconds + plan.postWarmup + plan.postSeconds
const plannedSeconds = plan.rounds * specs.length * perContender
log(`plan: ${plan.rounds} round(s) × ${specs.length} contenders, about ${Math.ceil(plannedSeconds / 60)} min of load`)

endChildrenOnExit()
// bounded whatever happens: half as long again as planned, plus time to install and start
const deadline = setTimeout(() => {
  log(`benchmark still running after ${Math.round(plannedSeconds * 1.5 + 240)} s: stopping it`)
  void stopAll().finally(() => process.exit(1))
}, (plannedSeconds * 1.5 + 240) * 1000)

const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
process.once('exit', () => rmSync(dir, { recursive: true, force: true })) // also after Ctrl-C
try {
  const loadAtStart = loadAverage()
  const { generator, generatorDescription, usesWrk, origin } = await prepareLoadSide(dir, LOAD_CPU, log)
  const contenders: Contender[] = []
  for (const spec of specs) contenders.push(await startContender(spec, origin, dir, PROXY_CPU))
  for (const c of contenders) await checkAnswers(c)
  const ticksPerSecond = clockTicksPerSecond()
  let peakIsPerRun = true

  const measure = async (c: Contender, kind: Case, request: LoadRequest, round: number): Promise<Measurement> => {
    peakIsPerRun = resetPeakRss(c.pid) && peakIsPerRun
    const before = cpuTicks(c.pid)
    const load = await generator(request)
    const cpuUs = (cpuTicks(c.pid) - before) * 1e6 / ticksPerSecond
    const m: Measurement = { contender: c.spec.name, case: kind, connections: request.connections, round, load, cpuUsPerRequest: cpuUs / Math.max(1, load.requests), peakRssMiB: peakRssKiB(c.pid) / 1024 }
    log(`round ${round} ${c.spec.name} ${kind} c=${request.connections}: ${load.requestsPerSecond.toFixed(0)} req/s, p99 ${load.p99Ms.toFixed(2)} ms, ` +
      `${m.cpuUsPerRequest.toFixed(1)} CPU µs/req, peak ${m.peakRssMiB.toFixed(0)} MiB, non-2xx ${load.non2xx}, socket errors ${load.socketErrors}`)
    return m
  }

  const measurements: Measurement[] = []
  for (let round = 1; round <= plan.rounds; round++) {
    // interleaved, and the order rotated each round, so drift in the machine's speed falls on every contender
    const order = contenders.map((_, i) => contenders[(i + round - 1) % contenders.length]!)
    for (const c of order) {
      await generator({ url: `${c.url}/`, connections: plan.connections[0]!, seconds: plan.warmup, cpu: LOAD_CPU })
      for (const connections of plan.connections) {
        measurements.push(await measure(c, 'get', { url: `${c.url}/`, connections, seconds: plan.seconds, cpu: LOAD_CPU }, round))
      }
    }
    for (const c of order) {
      const post = { url: `${c.url}${UPLOAD_PATH}`, connections: plan.postConnections, body: BODY, cpu: LOAD_CPU }
      if (plan.postWarmup > 0) await generator({ ...post, seconds: plan.postWarmup })
      measurements.push(await measure(c, 'post', { ...post, seconds: plan.postSeconds }, round))
    }
  }

  const rows = summarise(measurements, contenders.map((c) => c.spec.name))
  const paired = pairedBars(measurements)
  const args = process.argv.slice(2).join(' ')
  const report = [
    `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${usesWrk ? 'wrk' : 'autocannon (FALLBACK: measures autocannon, not the proxies)'}, ${origin.description}${quick ? ' (quick run)' : ''}`,
    '',
    `- Machine: ${cpuModel()}, ${canPin ? 'proxy pinned to CPU 0 (`taskset -c 0`), load generator and origin to CPU 1' : 'NOT pinned (no taskset or a single CPU)'}; Linux ${release()}; load average ${loadAtStart} at start, ${loadAverage()} at end.`,
    `- Software: Node ${process.version} (every proxy), ${generatorDescription}; origin ${origin.description}; CLK_TCK ${ticksPerSecond}.`,
    `- Parameters: \`node bench/run.ts${args === '' ? '' : ` ${args}`}\`: ${plan.rounds} round(s), contenders interleaved and their order rotated each round; ` +
      `per contender and round a ${plan.warmup} s warm-up at ${plan.connections[0]} connections (not counted), then GET / (100-byte JSON) for ${plan.seconds} s at each of ${plan.connections.join(' and ')} connections ` +
      `(\`wrk -t1 -c<n> -d${plan.seconds}s --latency --timeout 10s\`); then POST ${UPLOAD_PATH} with a ${UPLOAD_BYTES / 1024 / 1024} MiB body from a wrk Lua script, ` +
      `${plan.postWarmup > 0 ? `${plan.postWarmup} s warm-up, ` : 'no warm-up of its own, '}${plan.postSeconds} s at ${plan.postConnections} connections.`,
    '- Figures: median over rounds of each figure on its own. CPU µs/req = the proxy process\'s utime+stime (/proc/<pid>/stat) over the measured run ÷ responses completed. ' +
      `Peak RSS = VmHWM (/proc/<pid>/status)${peakIsPerRun ? ', reset before each run' : ' over the process\'s life (the kernel refused the per-run reset)'}. non-2xx and socket errors are summed over rounds.`,
    '- Metrics: on in switchyard-full, off in switchyard-nometrics (otherwise the same config).',
    ...contenders.map((c) => `- ${c.spec.name}: ${c.spec.description}.`),
    '',
    ...headline(rows).map((l) => `**${l}.**  `),
    '',
    ...(paired.length === 0 ? [] : [
      'The bars, paired per round (each round\'s ratio between two contenders that ran back to back, then the median over rounds):',
      '',
      ...paired.map((l) => `- ${l}.`),
      '',
    ]),
    getTable(rows),
    '',
    postTable(rows, UPLOAD_BYTES),
    '',
  ].join('\n')
  process.stdout.write(`\n${report}`)
  if (record) {
    const file = join(here, 'RESULTS.md')
    writeFileSync(file, appendRun(readFileSync(file, 'utf8'), report))
    log(`appended to ${file}`)
  } else {
    log('not recorded in bench/RESULTS.md (quick run or --no-record; --record to keep it)')
  }
} finally {
  clearTimeout(deadline)
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}

/** A proxy that answers wrongly would be measured answering wrongly: check both cases once before loading it. */
async function checkAnswers (c: Contender): Promise<void> {
  const get = await fetch(`${c.url}/`)
  const body = await get.text()
  if (get.status !== 200 || body !== SMALL_JSON) throw new Error(`${c.spec.name}: GET / answered ${get.status} ${body.slice(0, 200)}`)
  const post = await fetch(`${c.url}${UPLOAD_PATH}`, { method: 'POST', body: Buffer.alloc(UPLOAD_BYTES, 'x'), headers: { 'content-type': BODY.contentType } })
  const answer = await post.text()
  if (post.status !== 200 || answer !== UPLOAD_ANSWER) throw new Error(`${c.spec.name}: POST ${UPLOAD_PATH} answered ${post.status} ${answer.slice(0, 200)}`)
}
