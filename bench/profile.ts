// `node bench/profile.ts [seconds] [connections]`: CPU-profiles Switchyard under autocannon load and
// prints the hottest functions (self time). The .cpuprofile is left in the OS temp dir for a closer look.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const seconds = process.argv[2] ?? '10'
const connections = process.argv[3] ?? '50'
const dir = mkdtempSync(join(tmpdir(), 'switchyard-prof-'))

function start (args: string[]): Promise<{ kill: () => Promise<void>; url: string }> {
  const child = spawn('taskset', ['-c', args[0]!, process.execPath, ...args.slice(1)], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /READY (\S+)/.exec(d.toString())
      if (m) resolve({ url: m[1]!, kill: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM') }) })
    })
  })
}

const origin = await start(['1', join(here, 'origin.ts')])
const gateway = await start(['0', '--cpu-prof', `--cpu-prof-dir=${dir}`, join(here, 'gateway-server.ts'), origin.url, '0'])
const load = spawn('taskset', ['-c', '1', process.execPath, join(here, '../node_modules/autocannon/autocannon.js'), '-c', connections, '-d', seconds, gateway.url], { stdio: ['ignore', 'inherit', 'inherit'] })
await new Promise((r) => load.once('exit', r))
await gateway.kill()
await origin.kill()

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: Node[] }
const self = new Map<string, number>()
let total = 0
for (const n of profile.nodes) {
  const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/src\//, 'src/')}:${n.callFrame.lineNumber}`
  self.set(key, (self.get(key) ?? 0) + n.hitCount)
  total += n.hitCount
}
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 35)) console.log(`${(v / total * 100).toFixed(1).padStart(5)}%  ${k}`)
console.log(`profile: ${join(dir, file)}`)
