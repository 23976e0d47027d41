// `node bench/startup.ts [--routes 1000] [--pools 100] [--runs 5]`: start-up to ready of `node src/main.ts` with a
// generated config (N routes over M pools of 2 targets each, every pool health-checked against a local origin):
// from spawn to the listening log line, and to the admin /readyz answering 200 (first DNS lookups and first
// health round done). A 1-route config and a bare `node -e ''` are timed the same way for reference.
// Then the same phases in this process (config load + validation, buildGateway, listen, ready) to see where
// the time goes. The gateway is pinned to CPU 0 where taskset exists.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { canPin } from './children.ts'
import { median } from './report.ts'

const { values } = parseArgs({ options: { routes: { type: 'string', default: '1000' }, pools: { type: 'string', default: '100' }, runs: { type: 'string', default: '5' } } })
const ROUTES = Number(values.routes)
const POOLS = Number(values.pools)
const RUNS = Number(values.runs)
const root = fileURLToPath(new URL('..', import.meta.url))

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

/** ms from spawn to the listening line and to /readyz 200. */
async function timeProcess (file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ listening: number; ready: number }> {
  const argv = [process.execPath, '--expose-gc', join(root, 'src/main.ts'), '--config', file]
  const [cmd, ...args] = canPin ? ['taskset', '-c', '0', ...argv] : argv
  const start = performance.now()
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'], env })
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

/** The same phases inside this process, for a breakdown (one run: modules cached after it). */
async function phases (file: string): Promise<Record<string, number>> {
  const t0 = performance.now()
  const { loadConfigFile } = await import('../src/config/load.ts')
  const { buildGateway } = await import('../src/app.ts')
  const t1 = performance.now()
  const cfg = await loadConfigFile(file)
  const t2 = performance.now()
  const gateway = buildGateway(cfg, { configFile: file })
  const t3 = performance.now()
  await gateway.listen({ host: '127.0.0.1', port: 0 })
  await gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const t4 = performance.now()
  while (gateway.readiness() !== 'ready') await new Promise((resolve) => setTimeout(resolve, 1))
  const t5 = performance.now()
  await gateway.close()
  return { 'import src/app.ts + config/load.ts': t1 - t0, 'load + validate config': t2 - t1, buildGateway: t3 - t2, 'listen (proxy + admin)': t4 - t3, 'first health round → ready': t5 - t4 }
}

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
  writeFileSync(big, JSON.stringify(config(ROUTES, POOLS, ports)))
  writeFileSync(bigUnchecked, JSON.stringify(config(ROUTES, POOLS, ports, false)))
  writeFileSync(small, JSON.stringify(config(1, 1, ports)))
  const bare: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    spawnSync(canPin ? 'taskset' : process.execPath, canPin ? ['-c', '0', process.execPath, '-e', ''] : ['-e', ''])
    bare.push(performance.now() - start)
  }
  // Node's compile cache (NODE_COMPILE_CACHE, or module.enableCompileCache()) keeps the type-stripped, compiled
  // modules on disk: timed after one run has filled it
  const cache = { ...process.env, NODE_COMPILE_CACHE: join(dir, 'compile-cache') }
  const label = `${ROUTES.toLocaleString('en-US')} routes, ${POOLS} pools`
  const cases: [string, string, NodeJS.ProcessEnv][] = [
    ['1 route, 1 pool, health-checked', small, process.env],
    [`${label}, health-checked (intervalMs 2000)`, big, process.env],
    [`${label}, no health checks`, bigUnchecked, process.env],
    [`${label}, no health checks, NODE_COMPILE_CACHE warm`, bigUnchecked, cache],
  ]
  await timeProcess(bigUnchecked, cache)
  const rows: string[] = []
  for (const [name, file, env] of cases) {
    const runs = []
    for (let i = 0; i < RUNS; i++) runs.push(await timeProcess(file, env))
    const show = (xs: number[]): string => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`
    rows.push(`| ${name} | ${show(runs.map((r) => r.listening))} | ${show(runs.map((r) => r.ready))} |`)
  }
  const breakdown = await phases(big)
  process.stdout.write([
    `Start-up of \`node src/main.ts\`, ms: median (min–max) of ${RUNS} runs; Node ${process.version}${canPin ? ', gateway pinned to CPU 0' : ''}; ` +
      `pools of 2 targets; a bare \`node -e ''\` takes ${median(bare).toFixed(0)} ms.`,
    '',
    '| config | spawn → listening | spawn → /readyz 200 |',
    '| --- | ---: | ---: |',
    ...rows,
    '',
    `In-process phases with ${ROUTES.toLocaleString('en-US')} routes (one run, ms): ` + Object.entries(breakdown).map(([k, v]) => `${k} ${v.toFixed(0)}`).join('; '),
    '',
  ].join('\n'))
} finally {
  rmSync(dir, { recursive: true, force: true })
  for (const s of origins) s.close()
}
