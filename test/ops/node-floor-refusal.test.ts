// Both entries refuse a Node below the floors (src/node-support.mjs) with exit code 1 and one line on stderr naming
// the running version, and nothing on stdout: src/start.mjs (npm start, the image) before it reads any TypeScript,
// so Node 20, which cannot strip it, gets the line and not a stack trace; src/main.ts (`node src/main.ts`) before it
// starts anything. The running Node's version is faked with an --import hook; a supported one still runs.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const CONFIG = 'test/fixtures/cli-valid.config.ts'
/** Makes process.versions.node read `version`. */
const fake = (version: string): string => `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`
// reports at exit whether Node's TypeScript stripper (amaro) was loaded into the process
const REPORT = 'data:text/javascript,process.on("exit",()=>process.stderr.write("stripper:"+process.moduleLoadList.some((m)=>m.includes("amaro"))+"\\n"))'

interface Run { code: number | null; stdout: string; lines: string[]; stripper: string | undefined }

function run (tmp: string, version: string, entry: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp }
  for (const name of ['NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE', 'SWITCHYARD_CONFIG']) delete env[name]
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, [...NODE_FLAGS, '--import', fake(version), '--import', REPORT, entry, 'check', '--config', CONFIG], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    proc.on('error', reject)
    proc.on('close', (code) => {
      const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('stripper:'))
      resolve({ code, stdout, lines, stripper: /^stripper:(\w+)$/m.exec(stderr)?.[1] })
    })
  })
}

t.test('src/start.mjs refuses a Node below the floors before reading any TypeScript', async (t) => {
  for (const version of ['24.13.0', '22.22.0', '20.20.2']) {
    const r = await run(t.testdir(), version, 'src/start.mjs')
    t.equal(r.code, 1, `${version}: exit code 1`)
    t.equal(r.stdout, '')
    t.equal(r.lines.length, 1, 'one line')
    t.match(r.lines[0], `v${version}`, 'naming the running version')
    t.equal(r.stripper, 'false', 'the TypeScript stripper never loaded: nothing of main.ts was read')
  }
})

t.test('src/main.ts refuses a Node below the floors', async (t) => {
  const r = await run(t.testdir(), '24.13.0', 'src/main.ts')
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  t.equal(r.lines.length, 1, 'one line')
  t.match(r.lines[0], 'v24.13.0')
})

t.test('a supported version (faked the same way) runs', async (t) => {
  const r = await run(t.testdir(), '24.13.1', 'src/start.mjs')
  t.equal(r.code, 0)
  t.match(r.stdout, /routes/)
})
