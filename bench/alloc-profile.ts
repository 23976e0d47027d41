// `node bench/alloc-profile.ts [--seconds 6] [--connections 50] [--contender switchyard-full]`: bytes allocated per
// request, by function, under wrk against the nginx origin (pinned as in run.ts). The contender runs with
// bench/alloc-sampler.ts preloaded, which samples every 512 bytes allocated, collected or not, during the measured
// load only; figures are sampled bytes ÷ requests wrk completed. Prints the allocating functions (self) and, for
// each allocation, the innermost Switchyard frame on its stack (what of ours caused it). Garbage per request is
// what the collector's CPU share scales with.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, stopAll, stopProcess } from './children.ts'
import { CONTENDERS, startContender } from './contenders.ts'
import { prepareLoadSide } from './setup.ts'

const here = dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '50' },
    contender: { type: 'string', default: 'switchyard-full' },
    top: { type: 'string', default: '25' },
    // Also print who calls the allocating functions whose name contains this (e.g. nextTick), 4 frames up.
    callers: { type: 'string' },
  },
})
const spec = CONTENDERS.find((c) => c.name === values.contender)
if (spec === undefined) throw new Error(`unknown contender ${values.contender}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] }

endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-alloc-'))
process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
const out = join(dir, 'alloc.json')
process.env.ALLOC_PROFILE_OUT = out
let requests = 0
try {
  const { generator, origin } = await prepareLoadSide(dir, 1, log)
  const contender = await startContender(spec, origin, dir, 0, ['--import', join(here, 'alloc-sampler.ts')])
  await generator({ url: `${contender.url}/`, connections: Number(values.connections), seconds: 2, cpu: 1 }) // warm-up
  contender.child.kill('SIGUSR2')
  const load = await generator({ url: `${contender.url}/`, connections: Number(values.connections), seconds: Number(values.seconds), cpu: 1 })
  contender.child.kill('SIGUSR2')
  requests = load.requests
  for (let i = 0; i < 100 && !existsSync(out); i++) await sleep(100)
  log(`${spec.name}: ${load.requestsPerSecond.toFixed(0)} req/s under the sampler, ${requests} requests sampled`)
  await stopProcess(contender.child)
} finally {
  await stopAll()
}

const where = (f: HeapNode['callFrame']): string =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${f.lineNumber + 1}`
const self = new Map<string, number>()
const ours = new Map<string, number>()
let total = 0
const callers = new Map<string, number>()
const stack: string[] = []
const walk = (node: HeapNode, innermostOurs: string | undefined): void => {
  const key = where(node.callFrame)
  stack.push(key)
  const inner = key.includes(' src/') ? key : innermostOurs
  if (node.selfSize > 0) {
    total += node.selfSize
    self.set(key, (self.get(key) ?? 0) + node.selfSize)
    const blame = inner ?? '(no Switchyard frame)'
    ours.set(blame, (ours.get(blame) ?? 0) + node.selfSize)
    if (values.callers !== undefined && node.callFrame.functionName.includes(values.callers)) {
      const chain = stack.slice(-5, -1).reverse().join('  <  ')
      callers.set(chain, (callers.get(chain) ?? 0) + node.selfSize)
    }
  }
  for (const child of node.children) walk(child, inner)
  stack.pop()
}
walk((JSON.parse(readFileSync(out, 'utf8')) as { head: HeapNode }).head, undefined)
const top = Number(values.top)
const table = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`)
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${(v / requests).toFixed(0).padStart(7)} B  ${k}\n`)
}
process.stdout.write(`${spec.name}: ${(total / requests).toFixed(0)} bytes allocated per request (sampled every 512 B)\n`)
table('allocated by (self):', self)
table('innermost Switchyard frame on the stack:', ours)
if (values.callers !== undefined) table(`callers of ${values.callers} (innermost first):`, callers)
