// `node bench/startup.ts [--routes 1000] [--pools 100] [--runs 5]`: start-up to ready of the gateway with a
// generated routes.config.ts (N routes over M pools of 2 targets each, every pool health-checked against a local
// origin): from spawn to the listening log line, and to the admin /readyz answering 200 (first DNS lookups and first
// health round done). The production start is timed first: `node <shipped V8 flags> src/start.mjs --config FILE`,
// as `npm start` and the image's entrypoint run it; then `node src/main.ts --config FILE`, which loads Node's
// TypeScript stripper for main.ts and starts itself again with the flags (src/lifecycle/node-flags.ts).
// A bare `node -e ''` and a one-line .ts file are timed the same way for reference: the second is Node's floor
// for any .ts entry point (its TypeScript loader is loaded for the entry itself).
// Node's compile cache lives in the OS temp directory: here a directory of this run (TMPDIR), warmed by one start
// first; "compile cache off" (NODE_DISABLE_COMPILE_CACHE=1) is what the very first start on a machine costs.
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
import { C_LIBRARY_ENV, NODE_FLAGS } from '../src/lifecycle/node-flags.ts'
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
    admin: { host: '127.0.0.1', port: ADMIN_PORT },
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

/** The steps of the listening line's startupMs (src/main.ts), and the wait for readiness after it. */
const STEPS: [key: string, name: string][] = [
  ['node', 'Node, src/start.mjs, main.ts and the bundle loaded (before main.ts\'s first line)'],
  ['cliModules', 'CLI modules (arguments, config loader, zod and the schemas)'],
  ['config', 'config read and validated'],
  ['gatewayModules', 'gateway modules (app.ts: Fastify, undici, ...)'],
  ['build', 'buildGateway (pools, routing table, metrics, Fastify)'],
  ['listen', 'listen (proxy, admin) and the config watch; the first health probes go out meanwhile'],
  ['total', '= listening (ms since the process started)'],
  ['ready', '/readyz 200, seen from outside, minus the listening line (both from the spawn; below 0: ready first)'],
]

const pinned = (argv: string[]): [string, string[]] => canPin ? ['taskset', ['-c', '0', ...argv]] : [argv[0]!, argv.slice(1)]

interface Timing {
  listening: number
  ready: number
  /** The gateway's own account of its start-up, from its listening log line (src/main.ts): ms per step. */
  steps: Record<string, number>
}

/** ms from spawn to the listening line and to /readyz 200. */
async function timeProcess (entry: readonly string[], file: string, env: NodeJS.ProcessEnv): Promise<Timing> {
  const [cmd, args] = pinned([process.execPath, ...entry, '--config', file])
  const start = performance.now()
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
  try {
    let buffered = ''
    let admin: string | undefined
    let listening = 0
    let steps: Record<string, number> = {}
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (admin === undefined && line.includes('"admin"')) {
          listening = performance.now() - start
          const record = JSON.parse(line) as { admin: string; startupMs?: Record<string, number> }
          admin = record.admin
          steps = record.startupMs ?? {}
        }
      }
    })
    // /readyz is polled from the spawn on (the admin port is known), not from the listening line: ready is the
    // gateway's, whenever its log line arrives
    let ready = 0
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode})`)
      if (ready === 0 && await get(`http://127.0.0.1:${ADMIN_PORT}/readyz`) === 200) ready = performance.now() - start
      if (ready !== 0 && admin !== undefined) return { listening, ready, steps }
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
// every gateway's admin listener, one at a time (each is killed and gone before the next starts)
const ADMIN_PORT = await new Promise<number>((resolve, reject) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo
    probe.close(() => resolve(port))
  }).once('error', reject)
})
const origins: Server[] = await Promise.all([0, 1].map(async () => {
  const s = createServer((_req, res) => { res.end('ok') })
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  return s
}))
const ports = origins.map((s) => (s.address() as AddressInfo).port)
const dir = mkdtempSync(join(tmpdir(), 'switchyard-startup-'))
try {
  // the production config is TypeScript (routes.config.ts): so is this one, type import and all
  const tsConfig = (value: unknown): string =>
    `import type { GatewayConfig } from ${JSON.stringify(join(root, 'src/index.ts'))}\n\nexport default ${JSON.stringify(value, null, 2)} satisfies GatewayConfig\n`
  const big = join(dir, `routes-${ROUTES}.config.ts`)
  const bigUnchecked = join(dir, `routes-${ROUTES}-unchecked.config.ts`)
  const bigJson = join(dir, `routes-${ROUTES}.config.json`)
  const small = join(dir, 'routes-1.config.ts')
  const tiny = join(dir, 'one-line.ts')
  writeFileSync(big, tsConfig(config(ROUTES, POOLS, ports)))
  writeFileSync(bigUnchecked, tsConfig(config(ROUTES, POOLS, ports, false)))
  writeFileSync(bigJson, JSON.stringify(config(ROUTES, POOLS, ports)))
  writeFileSync(small, tsConfig(config(1, 1, ports)))
  writeFileSync(tiny, 'const x: number = 1\n')
  const bare: number[] = []
  const oneLineTs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    bare.push(timeExit([process.execPath, '-e', '']))
    oneLineTs.push(timeExit([process.execPath, tiny]))
  }
  const warm: NodeJS.ProcessEnv = { ...process.env, ...C_LIBRARY_ENV, TMPDIR: dir }
  delete warm.NODE_COMPILE_CACHE
  delete warm.NODE_DISABLE_COMPILE_CACHE
  delete warm.SWITCHYARD_NODE_FLAGS
  const cold: NodeJS.ProcessEnv = { ...warm, NODE_DISABLE_COMPILE_CACHE: '1' }
  const sources = { ...warm, SWITCHYARD_SOURCES: '1' }
  const bundled = freshBundle() !== undefined
  // npm start and the image's entrypoint; and the plain `node src/main.ts`
  const production = [...NODE_FLAGS, join(root, 'src/start.mjs')]
  const plain = [join(root, 'src/main.ts')]
  const label = `${ROUTES.toLocaleString('en-US')} routes, ${POOLS} pools`
  const how = bundled ? 'prebuilt bundle' : 'sources, no bundle built'
  type Case = [string, readonly string[], string, NodeJS.ProcessEnv]
  const cases: Case[] = [
    [`1 route, 1 pool, health-checked (${how})`, production, small, warm],
    [`${label}, health-checked (intervalMs 2000; ${how})`, production, big, warm],
    [`${label}, health-checked, config as JSON (${how})`, production, bigJson, warm],
    [`${label}, health-checked, \`node src/main.ts\` (no flags: starts again with them; ${how})`, plain, big, warm],
    ...(bundled ? [[`${label}, health-checked, sources (SWITCHYARD_SOURCES=1)`, production, big, sources] as Case] : []),
    [`${label}, no health checks (${how})`, production, bigUnchecked, warm],
    [`${label}, health-checked, compile cache off (a first start; ${how})`, production, big, cold],
  ]
  // one untimed start of each first: it fills the compile cache (the config file included) for the warm cases
  for (const [, entry, file, env] of cases) await timeProcess(entry, file, env)
  const show = (xs: number[]): string => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`
  const load = [loadavg()[0]!]
  // the cases take turns in every round, so a change in the shared machine's load falls on all of them
  const runs = cases.map((): Timing[] => [])
  for (let i = 0; i < RUNS; i++) {
    for (const [c, [, entry, file, env]] of cases.entries()) runs[c]!.push(await timeProcess(entry, file, env))
  }
  // the production start's own account of its steps, for the 1-route and the big health-checked config
  const breakdown = [0, 1]
  const rows = cases.map(([name], c) => `| ${name} | ${show(runs[c]!.map((r) => r.listening))} | ${show(runs[c]!.map((r) => r.ready))} |`)
  load.push(loadavg()[0]!)
  const samples: Record<string, number>[] = []
  for (let i = 0; i < RUNS; i++) {
    const [cmd, args] = pinned([process.execPath, fileURLToPath(import.meta.url), '--routes', String(ROUTES), '--phases', bigJson])
    // not spawnSync: the origins answering the health checks live in this process
    const child = spawn(cmd, args, { env: warm, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    await once(child, 'exit')
    samples.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>)
  }
  process.stdout.write([
    `Start-up of \`node ${NODE_FLAGS.join(' ')} src/start.mjs --config FILE.ts\` (npm start, the image) unless the row says otherwise, ms: median (min–max) of ${RUNS} runs; Node ${process.version}${canPin ? ', gateway pinned to CPU 0' : ''}; ` +
      `pools of 2 targets; 1-minute load average ${load.map((l) => l.toFixed(2)).join(' → ')}. ` +
      `A bare \`node -e ''\` takes ${show(bare)}; a one-line .ts file ${show(oneLineTs)}.`,
    '',
    '| config | spawn → listening | spawn → /readyz 200 |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `Where it goes, as the gateway logs it (\`startupMs\` in its listening line), ms, median (min–max) of ${RUNS}:`,
    '',
    `| step | ${breakdown.map((c) => cases[c]![0]).join(' | ')} |`,
    `| --- |${breakdown.map(() => ' ---: |').join('')}`,
    ...STEPS.map(([key, name]) => `| ${name} | ${breakdown.map((c) => show(runs[c]!.map((r) => key === 'ready' ? r.ready - r.listening : r.steps[key] ?? Number.NaN))).join(' | ')} |`),
    '',
    `And on the sources, ${label}, health-checked: main.ts's steps, timed in a fresh process (compile cache warm), ms, median (min–max) of ${RUNS}:`,
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
