// The load side of every benchmark script: wrk (or autocannon when wrk cannot be had) and the origin (nginx, or
// the Node origin when nginx cannot be had), both pinned to the load CPU.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { autocannonGenerator } from './autocannon.ts'
import { startProcess, waitForReady } from './children.ts'
import type { LoadGenerator } from './load.ts'
import { startNginx } from './nginx.ts'
import type { Origin } from './origin-answer.ts'
import { ensureDebianBinary, versionOf } from './tools.ts'
import { wrkGenerator } from './wrk.ts'

const here = dirname(fileURLToPath(import.meta.url))

export interface LoadSide {
  generator: LoadGenerator
  /** e.g. "wrk debian/4.1.0-3+b2 [epoll]", or the autocannon fallback's warning. */
  generatorDescription: string
  usesWrk: boolean
  origin: Origin
}

export async function prepareLoadSide (dir: string, cpu: number, log: (line: string) => void): Promise<LoadSide> {
  const wrk = ensureDebianBinary('wrk', 'wrk', log)
  const nginx = ensureDebianBinary('nginx', 'nginx', log)
  if (wrk === undefined) log('WARNING: wrk unavailable, falling back to autocannon, which saturates before the proxies do: req/s will measure autocannon')
  if (nginx === undefined) log('WARNING: nginx unavailable, falling back to the Node origin (bench/origin.ts)')
  return {
    generator: wrk !== undefined ? wrkGenerator(wrk, dir) : autocannonGenerator(dir),
    generatorDescription: wrk !== undefined ? versionOf(wrk, ['-v']).split(' Copyright')[0]! : 'autocannon (FALLBACK: measures autocannon, not the proxies)',
    usesWrk: wrk !== undefined,
    origin: nginx !== undefined ? await startNginx(nginx, dir, cpu) : await startNodeOrigin(cpu),
  }
}

async function startNodeOrigin (cpu: number): Promise<Origin> {
  const child = startProcess(process.execPath, [join(here, 'origin.ts')], { cpu })
  const [a, b] = (await waitForReady(child, 'origin')).split(',')
  return { description: `Node ${process.version} origin (bench/origin.ts, FALLBACK for nginx)`, urls: [a!, b!] }
}
