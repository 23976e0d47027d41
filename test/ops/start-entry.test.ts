// src/start.mjs, the entry of npm start and the image (run here with their V8 flags): runs the CLI like src/main.ts, and once any start has filled
// Node's compile cache, a start never loads Node's TypeScript stripper (main.ts, its imports and a routes.config.ts
// all come from the cache, already stripped).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const CONFIG = 'test/fixtures/cli-valid.config.ts'
// reports at exit whether Node's TypeScript stripper (amaro) was loaded into the process
const REPORT = 'data:text/javascript,process.on("exit",()=>process.stderr.write("stripper:"+process.moduleLoadList.some((m)=>m.includes("amaro"))+"\\n"))'

interface Run { code: number | null; stdout: string; stripper: string | undefined }

function check (tmp: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp }
  // the test runner's hooks are not part of the CLI; the cache is the one start.mjs turns on, in TMPDIR
  for (const name of ['NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE', 'SWITCHYARD_CONFIG']) delete env[name]
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, [...NODE_FLAGS, '--import', REPORT, 'src/start.mjs', 'check', '--config', CONFIG], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    proc.on('error', reject)
    proc.on('close', (code) => resolve({ code, stdout, stripper: /^stripper:(\w+)$/m.exec(stderr)?.[1] }))
  })
}

t.test('src/start.mjs runs the CLI, and a warm start never loads the TypeScript stripper', async (t) => {
  const tmp = t.testdir()
  const first = await check(tmp)
  t.equal(first.code, 0)
  t.match(first.stdout, /routes/)
  t.equal(first.stripper, 'true', 'the first start strips the sources (the cache is empty)')
  const second = await check(tmp)
  t.equal(second.code, 0)
  t.equal(second.stdout, first.stdout, 'the same answer')
  t.equal(second.stripper, 'false', 'not loaded: everything came from the compile cache')
})
