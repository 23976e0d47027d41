// `node bench/admin-render.ts`: how long GET /status and GET /metrics take to build with 100 pools × 20 targets
// (the bar: under 20 ms each). Builds a real gateway (not listening), sends nothing.
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'

const POOLS = 100
const TARGETS = 20
const pools: Record<string, { targets: string[] }> = {}
const routes: { path: string; pool: string }[] = []
for (let p = 0; p < POOLS; p++) {
  pools[`pool-${p}`] = { targets: Array.from({ length: TARGETS }, (_, i) => `http://10.${p}.0.${i + 1}:8080`) }
  for (let r = 0; r < 3; r++) routes.push({ path: `/p${p}/r${r}`, pool: `pool-${p}` })
}
const gateway = buildGateway(validateConfig({ log: { level: 'silent' }, pools, routes }), { defaultMetrics: true })
// give every target and route some series, as traffic would
for (const runtime of gateway.pools().values()) {
  for (const target of runtime.pool.targets) for (const outcome of ['success', 'status', 'reset'] as const) runtime.observer.attempt(target, outcome, 5)
  runtime.observer.retry('status')
}
const { state } = gateway.proxy
for (const route of state.table.routes) {
  for (const code of [200, 404, 503]) state.observers?.get(route, route.pool).request('GET', code, 0.012)
}

async function time (label: string, fn: () => unknown): Promise<void> {
  const samples: number[] = []
  for (let i = 0; i < 60; i++) {
    const start = performance.now()
    await fn()
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  const kept = samples.slice(10) // the first runs warm up the JIT
  kept.sort((a, b) => a - b)
  console.log(`${label}: median ${kept[Math.floor(kept.length / 2)]!.toFixed(2)} ms, p99 ${kept[Math.floor(kept.length * 0.99)]!.toFixed(2)} ms`)
}

console.log(`${POOLS} pools × ${TARGETS} targets, ${routes.length} routes`)
await time('GET /status (build + JSON)', () => JSON.stringify(gateway.status()))
await time('GET /metrics (render)', () => gateway.metrics!.render())
await gateway.close()
