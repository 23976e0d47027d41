// `node bench/syscalls.ts [--contender floor] [--seconds 3] [--connections 50]`: counts one contender's system
// calls per request (strace -c -f on the running process) under wrk against the nginx origin, pinned as in run.ts.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, stopAll } from './children.ts'
import { CONTENDERS, startContender } from './contenders.ts'
import { prepareLoadSide } from './setup.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    contender: { type: 'string', default: 'switchyard-full' },
  },
})
const spec = CONTENDERS.find((c) => c.name === values.contender)
if (spec === undefined) throw new Error(`unknown contender ${values.contender}`)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }
endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-sys-'))
try {
  const { generator, origin } = await prepareLoadSide(dir, 1, log)
  const c = await startContender(spec, origin, dir, 0)
  await generator({ url: `${c.url}/`, connections: Number(values.connections), seconds: 2, cpu: 1 })
  const strace = spawn('strace', ['-c', '-f', '-p', String(c.pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let out = ''
  strace.stderr.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise((resolve) => setTimeout(resolve, 500))
  const load = await generator({ url: `${c.url}/`, connections: Number(values.connections), seconds: Number(values.seconds), cpu: 1 })
  strace.kill('SIGINT')
  await new Promise((resolve) => strace.once('exit', resolve))
  process.stdout.write(`${spec.name}: ${load.requests} requests\n`)
  for (const line of out.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line)
    if (m) process.stdout.write(`${(Number(m[1]) / load.requests).toFixed(3).padStart(8)} ${m[2]}\n`)
  }
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}
