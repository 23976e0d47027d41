// `node bench/profile.ts [--seconds 10] [--connections 50] [--contender switchyard-full]`: CPU-profiles one
// contender (--cpu-prof) under wrk against the nginx origin, pinned as in run.ts, writes the .cpuprofile to
// bench/profiles/ (open it in Chrome DevTools or speedscope) and prints the hottest functions by self time.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, stopAll, stopProcess } from './children.ts'
import { CONTENDERS, startContender } from './contenders.ts'
import { prepareLoadSide } from './setup.ts'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    contender: { type: 'string', default: 'switchyard-full' },
  },
})
const spec = CONTENDERS.find((c) => c.name === values.contender)
if (spec === undefined) throw new Error(`unknown contender ${values.contender}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

const profiles = join(here, 'profiles')
mkdirSync(profiles, { recursive: true })
const before = new Set(readdirSync(profiles))
endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-prof-'))
process.once('exit', () => rmSync(dir, { recursive: true, force: true })) // also after Ctrl-C
try {
  const { generator, origin } = await prepareLoadSide(dir, 1, log)
  const name = `${spec.name}-${Date.now()}.cpuprofile`
  const contender = await startContender(spec, origin, dir, 0, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-name=${name}`])
  await generator({ url: `${contender.url}/`, connections, seconds: 2, cpu: 1 }) // warm-up, in the profile too
  // a profile's timestamps are CLOCK_MONOTONIC µs, as process.hrtime is: the sidecar says which samples are the load
  const fromUs = Number(process.hrtime.bigint() / 1000n)
  const load = await generator({ url: `${contender.url}/`, connections, seconds, cpu: 1 })
  const toUs = Number(process.hrtime.bigint() / 1000n)
  writeFileSync(join(profiles, `${name}.window.json`), JSON.stringify({ fromUs, toUs, requests: load.requests }))
  log(`${spec.name}: ${load.requestsPerSecond.toFixed(0)} req/s, p99 ${load.p99Ms.toFixed(2)} ms under the profiler; ${Math.round(load.requestsPerSecond * seconds)} requests in the measured window (${name}.window.json: bench/profile-compare.ts reads it)`)
  // the profile is written as the process exits: give it time
  await stopProcess(contender.child, 30_000)
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}

const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile') && !before.has(f))
if (file === undefined) throw new Error('no .cpuprofile was written')
interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as { nodes: ProfileNode[] }
const self = new Map<string, number>()
let total = 0
for (const n of profile.nodes) {
  const where = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')
  const key = `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + n.hitCount)
  total += n.hitCount
}
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 35)) process.stdout.write(`${(v / total * 100).toFixed(1).padStart(5)}%  ${k}\n`)
process.stdout.write(`profile: ${join(profiles, file)}\n`)
