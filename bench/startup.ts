// `node bench/startup.ts [--routes 1000] [--pools 100] [--runs 5]`: start-up to ready of `node src/main.ts` with a
// generated config (N routes over M pools of 2 targets each, every pool health-checked against a local origin):
// from spawn to the listening log line, and to the admin /readyz answering 200 (first DNS lookups and first
// health round done). A bare `node -e ''` and a one-line .ts file are timed the same way for reference: the
// second is Node's floor for any .ts entry point (its TypeScript loader is loaded for the entry itself).
// main.ts keeps Node's compile cache in the OS temp directory: here a directory of this run (TMPDIR; not
// NODE_COMPILE_CACHE, which would also cache main.ts itself, as no real start does), warmed by one start first;
// "compile cache off" (NODE_DISABLE_COMPILE_CACHE=1) is what the very first start on a machine costs.
// main.ts runs the prebuilt bundle when `npm run build` made one that is up to date (src/cli/prebuilt.ts); the
// sources are then timed too (SWITCHYARD_SOURCES=1).
// Then where the time goes: main.ts's steps on the sources, each timed, in fresh processes (`--phases FILE`,
// medians over the runs). The gateway is pinned to CPU 0 where taskset exists.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { enableCompileCache } from 'node:module'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freshBundle } from '../src/cli/prebuilt.ts'
import { canPin } from './children.ts'
import { median } from './report.ts'

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '1000' },
    pools: { type: 'string', default: '100' },
    runs: { type: 'string', default: '5' },
    phases: { type: 'string' },
  },
})
const ROUTES = Number(values.routes)
const POOLS = Number(values.pools)
const RUNS = Number(values.runs)
const root = fileURLToPath(new URL('..', import.meta.url))

/** The steps of main.ts, each timed, in this (fresh) process; printed as one JSON line of ms. */
async function phases (file: string): Promise<void> {
  // as main.ts does first (the parent chose the temp directory)
  enableCompileCache()
  const out: Record<string, number> = { 'node, its TypeScript loader and this script (not main.ts)': performance.now() }
  let last = performance.now()
  const step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const value = await fn()
    const now = performance.now()
    out[name] = now - last
    last = now
    return value
  }
  await step('import zod', () => import('zod'))
  await step('zod schemas built (src/config/schema.ts)', () => import('../src/config/schema.ts'))
  const { loadConfigFile } = await step('rest of src/config/load.ts', () => import('../src/config/load.ts'))
  const config = await step(`read + validate ${ROUTES.toLocaleString('en-US')} routes`, () => loadConfigFile(file))
  await step('import fastify', () => import('fastify'))
  await step('import undici', () => import('undici'))
  await step('import pino', () => import('pino'))
  const { buildGateway } = await step('rest of src/app.ts (src modules, opossum, ...)', () => import('../src/app.ts'))
  const gateway = await step('buildGateway (pools, routing table, metrics, Fastify)', () => buildGateway(config, { configFile: file }))
  await step('listen (proxy)', () => gateway.listen({ host: '127.0.0.1', port: 0 }))
  await step('listen (admin, dashboard routes)', () => gateway.listenAdmin({ host: '127.0.0.1', port: 0 }))
  await step('first DNS lookups + health round → ready', async () => {
    while (gateway.readiness() !== 'ready') await new Promise((resolve) => setTimeout(resolve, 1))
  })
  out.total = performance.now()
  process.stdout.write(JSON.stringify(out) + '\n')
  await gateway.close()
}

if (values.phases !== undefined) {
  await phases(values.phases)
  process.exit(0)
}

function config (routes: number, pools: number, ports: readonly number[], health = true): unknown {
  return {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    pools: Object.fromEntries(Array.from({ length: pools }, (_, i) => [`p${i}`, {
      targets: ports.map((port) => `http://127.0.0.1:${port}`),
      ...(health ? { healthCheck: { path: '/health', intervalMs: 2000 } } : {}),
    }])),
    routes: Array.from({ length: routes }, (_, i) => ({
      path: `/svc${i}/api`,
      pool: `p${i % pools}`,
      ...(i % 10 === 1 ? { host: `svc${i}.example.com` } : {}),
      ...(i % 7 === 2 ? { methods: ['GET', 'POST'] } : {}),
      ...(i % 13 === 3 ? { headers: { 'x-canary': '1' } } : {}),
    })),
  }
}

async function get (url: string): Promise<number> {
  try { return (await fetch(url)).status } catch { return 0 }
}

const pinned = (argv: string[]): [string, string[]] => canPin ? ['taskset', ['-c', '0', ...argv]] : [argv[0]!, argv.slice(1)]

/** ms from spawn to the listening line and to /readyz 200. */
async function timeProcess (file: string, env: NodeJS.ProcessEnv): Promise<{ listening: number; ready: number }> {
  const [cmd, args] = pinned([process.execPath, join(root, 'src/main.ts'), '--config', file])
  const start = performance.now()
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
  try {
    let buffered = ''
    let admin: string | undefined
    let listening = 0
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (admin === undefined && line.includes('"admin"')) {
          listening = performance.now() - start
          admin = (JSON.parse(line) as { admin: string }).admin
        }
      }
    })
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode})`)
      if (admin !== undefined && await get(`${admin}/readyz`) === 200) return { listening, ready: performance.now() - start }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  } finally {
    child.kill('SIGKILL')
    if (child.exitCode === null) await once(child, 'exit')
  }
}

/** ms for a process that exits by itself. */
function timeExit (argv: string[]): number {
  const [cmd, args] = pinned(argv)
  const start = performance.now()
  spawnSync(cmd, args, { stdio: 'ignore' })
  return performance.now() - start
}

const { createServer } = process.getBuiltinModule('node:http') // not imported: the --phases child must not pay for it
const origins: Server[] = await Promise.all([0, 1].map(async () => {
  const s = createServer((_req, res) => { res.end('ok') })
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  return s
}))
const ports = origins.map((s) => (s.address() as AddressInfo).port)
const dir = mkdtempSync(join(tmpdir(), 'switchyard-startup-'))
try {
  const big = join(dir, `routes-${ROUTES}.config.json`)
  const bigUnchecked = join(dir, `routes-${ROUTES}-unchecked.config.json`)
  const small = join(dir, 'routes-1.config.json')
  const tiny = join(dir, 'one-line.ts')
  writeFileSync(big, JSON.stringify(config(ROUTES, POOLS, ports)))
  writeFileSync(bigUnchecked, JSON.stringify(config(ROUTES, POOLS, ports, false)))
  writeFileSync(small, JSON.stringify(config(1, 1, ports)))
  writeFileSync(tiny, 'const x: number = 1\n')
  const bare: number[] = []
  const oneLineTs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeExit([process.execPath, '-e', '']))
    oneLineTs.push(timeExit([process.execPath, tiny]))
  }
  const warm: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir }
  delete warm.NODE_COMPILE_CACHE
  delete warm.NODE_DISABLE_COMPILE_CACHE
  const cold: NodeJS.ProcessEnv = { ...warm, NODE_DISABLE_COMPILE_CACHE: '1' }
  const sources = { ...warm, SWITCHYARD_SOURCES: '1' }
  const bundled = freshBundle() !== undefined
  await timeProcess(big, warm) // fills the compile cache
  await timeProcess(big, sources)
  const label = `${ROUTES.toLocaleString('en-US')} routes, ${POOLS} pools`
  const how = bundled ? 'prebuilt bundle' : 'sources, no bundle built'
  const cases: [string, string, NodeJS.ProcessEnv][] = [
    [`1 route, 1 pool, health-checked (${how})`, small, warm],
    [`${label}, health-checked (intervalMs 2000; ${how})`, big, warm],
    ...(bundled ? [[`${label}, health-checked, sources (SWITCHYARD_SOURCES=1)`, big, sources] as [string, string, NodeJS.ProcessEnv]] : []),
    [`${label}, no health checks (${how})`, bigUnchecked, warm],
    [`${label}, health-checked, compile cache off (a first start; ${how})`, big, cold],
  ]
  const show = (xs: number[]): string => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`
  const load = [loadavg()[0]!]
  // the cases take turns in every round, so a change in the shared machine's load falls on all of them
  const runs = cases.map((): { listening: number; ready: number }[] => [])
  for (let i = 0; i < RUNS; i++) {
    for (const [c, [, file, env]] of cases.entries()) runs[c]!.push(await timeProcess(file, env))
  }
  const rows = cases.map(([name], c) => `| ${name} | ${show(runs[c]!.map((r) => r.listening))} | ${show(runs[c]!.map((r) => r.ready))} |`)
  load.push(loadavg()[0]!)
  const samples: Record<string, number>[] = []
  for (let i = 0; i < RUNS; i++) {
    const [cmd, args] = pinned([process.execPath, fileURLToPath(import.meta.url), '--routes', String(ROUTES), '--phases', big])
    // not spawnSync: the origins answering the health checks live in this process
    const child = spawn(cmd, args, { env: warm, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    await once(child, 'exit')
    samples.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>)
  }
  process.stdout.write([
    `Start-up of \`node src/main.ts\`, ms: median (min–max) of ${RUNS} runs; Node ${process.version}${canPin ? ', gateway pinned to CPU 0' : ''}; ` +
      `pools of 2 targets; 1-minute load average ${load.map((l) => l.toFixed(2)).join(' → ')}. ` +
      `A bare \`node -e ''\` takes ${show(bare)}; a one-line .ts file ${show(oneLineTs)}.`,
    '',
    '| config | spawn → listening | spawn → /readyz 200 |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `Where it goes with ${label}, health-checked: main.ts's steps on the sources, timed in a fresh process (compile cache warm), ms, median (min–max) of ${RUNS}:`,
    '',
    '| step | ms |',
    '| --- | ---: |',
    ...Object.keys(samples[0]!).map((k) => `| ${k} | ${show(samples.map((s) => s[k]!))} |`),
    '',
  ].join('\n'))
} finally {
  rmSync(dir, { recursive: true, force: true })
  for (const s of origins) s.close()
}
