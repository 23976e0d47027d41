// `node bench/cpu-split.ts [--contenders floor,switchyard-full] [--rounds 3] [--seconds 8] [--connections 50]`:
// where each contender's CPU time per request goes, by thread and by user/kernel, under wrk against the nginx
// origin (pinned as in run.ts; contenders interleaved, order rotated each round). Reads utime and stime of every
// thread (/proc/<pid>/task/<tid>/stat) before and after the measured run: the main thread (JavaScript, the event
// loop, syscalls) apart from V8's and libuv's helper threads. The instruction count (bench/instructions.ts) sees
// user space only; this says how much of the CPU-time gap is the kernel's and the helpers'.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, stopAll, stopProcess } from './children.ts'
import { CONTENDERS, startContender } from './contenders.ts'
import { clockTicksPerSecond, parseStatTimes } from './proc.ts'
import { median } from './report.ts'
import { prepareLoadSide } from './setup.ts'

const { values } = parseArgs({
  options: {
    contenders: { type: 'string', default: 'floor,switchyard-full' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
  },
})
const specs = values.contenders.split(',').map((name) => {
  const spec = CONTENDERS.find((c) => c.name === name)
  if (spec === undefined) throw new Error(`unknown contender ${name}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
  return spec
})
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

interface Ticks { user: number; system: number }
/** utime and stime of the main thread (the process's first) and of all other threads together. */
function threadTicks (pid: number): { main: Ticks; helpers: Ticks } {
  const out = { main: { user: 0, system: 0 }, helpers: { user: 0, system: 0 } }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try { stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8') } catch { continue } // a thread that ended
    const { user, system } = parseStatTimes(stat)
    const into = Number(tid) === pid ? out.main : out.helpers
    into.user += user
    into.system += system
  }
  return out
}

endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-cpu-split-'))
process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
const tick = 1e6 / clockTicksPerSecond()
const rows = new Map<string, { mainUser: number[]; mainSystem: number[]; helpers: number[]; total: number[] }>()
try {
  const { generator, origin } = await prepareLoadSide(dir, 1, log)
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = specs.map((_, i) => specs[(i + round) % specs.length]!)
    for (const spec of order) {
      const contender = await startContender(spec, origin, dir, 0)
      const url = `${contender.url}/${spec.pathPrefix ?? ''}`
      await generator({ url, connections: Number(values.connections), seconds: 3, cpu: 1 }) // warm-up
      const before = threadTicks(contender.pid)
      const load = await generator({ url, connections: Number(values.connections), seconds: Number(values.seconds), cpu: 1 })
      const after = threadTicks(contender.pid)
      await stopProcess(contender.child)
      const per = (a: number, b: number): number => (a - b) * tick / load.requests
      const row = { mainUser: per(after.main.user, before.main.user), mainSystem: per(after.main.system, before.main.system), helpers: per(after.helpers.user + after.helpers.system, before.helpers.user + before.helpers.system) }
      const r = rows.get(spec.name) ?? { mainUser: [], mainSystem: [], helpers: [], total: [] }
      r.mainUser.push(row.mainUser); r.mainSystem.push(row.mainSystem); r.helpers.push(row.helpers); r.total.push(row.mainUser + row.mainSystem + row.helpers)
      rows.set(spec.name, r)
      log(`round ${round + 1} ${spec.name}: ${load.requestsPerSecond.toFixed(0)} req/s; µs/req main user ${row.mainUser.toFixed(1)}, main system ${row.mainSystem.toFixed(1)}, helper threads ${row.helpers.toFixed(1)}`)
    }
  }
} finally {
  await stopAll()
}
process.stdout.write(`\nCPU µs per request at c=${values.connections}, median of ${values.rounds} rounds (each figure on its own):\n\n`)
process.stdout.write('| contender | main thread, user | main thread, kernel | helper threads (V8, libuv) | total |\n| --- | ---: | ---: | ---: | ---: |\n')
for (const [name, r] of rows) process.stdout.write(`| ${name} | ${median(r.mainUser).toFixed(1)} | ${median(r.mainSystem).toFixed(1)} | ${median(r.helpers).toFixed(1)} | ${median(r.total).toFixed(1)} |\n`)
// each round's ratio to the first contender named (the contenders of a round ran back to back), then the median
const [reference, ...others] = specs.map((s) => s.name)
const base = rows.get(reference!)
if (base !== undefined && others.length > 0) {
  process.stdout.write(`\nTotal CPU per request ÷ ${reference}'s, paired per round (median, then the range):\n\n`)
  for (const name of others) {
    const ratios = (rows.get(name)?.total ?? []).map((t, i) => t / base.total[i]!).filter(Number.isFinite)
    if (ratios.length > 0) process.stdout.write(`- ${name}: ${median(ratios).toFixed(3)}× (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}×)\n`)
  }
}
