// `node bench/pick.ts`: nanoseconds per pick through a real pool (UpstreamPool.pick → its balancer) at 2, 100,
// 1,000 and 10,000 targets, for every balancer: the median of several timed runs, and their minimum (a busy
// machine only ever adds time, so the minimum is the steadier figure there). Two paths per balancer:
//   request: pick(ctx) + acquire + release, what one request costs the pool (least-connections does part of
//            its work on acquire/release);
//   retry:   pick(ctx, [one tried target]) + acquire + release, a retry that must avoid the target it failed on.
// Each balancer is timed in its own process (pinned to CPU 0 where taskset exists), so its call sites see one
// class only, as in a gateway, and no balancer pays for another's garbage. Prints a markdown table.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBalancer, type PickContext } from '../src/balancer/index.ts'
import type { BalancerConfig } from '../src/config/schema.ts'
import { validateConfig } from '../src/config/validate.ts'
import { UpstreamPool } from '../src/upstream/pool.ts'
import { Target } from '../src/upstream/target.ts'
import { canPin } from './children.ts'
import { median } from './report.ts'

const SIZES = [2, 100, 1000, 10_000]
const RUNS = 15
const RUN_MS = 10
interface Contender { config: BalancerConfig; weight: (i: number) => number }
const WEIGHTS_1_TO_3 = (i: number): number => 1 + (i % 3)
const BALANCERS: Record<string, Contender> = {
  'round-robin': { config: 'round-robin', weight: WEIGHTS_1_TO_3 },
  'least-connections': { config: 'least-connections', weight: WEIGHTS_1_TO_3 },
  // every target a weight of its own: a tie is drawn by weight class, one class per target (fenwick.ts: O(log k))
  'least-connections (every weight distinct)': { config: 'least-connections', weight: (i) => 1 + i },
  random: { config: 'random', weight: WEIGHTS_1_TO_3 },
  p2c: { config: 'p2c', weight: WEIGHTS_1_TO_3 },
  'hash (header key)': { config: { type: 'hash', key: 'header:x-user' }, weight: WEIGHTS_1_TO_3 },
}
const PATHS = ['request', 'retry'] as const

/** A pool as the gateway builds it: validated config, real Targets (no connection is ever opened). */
function pool ({ config, weight }: Contender, n: number): UpstreamPool {
  const targets = Array.from({ length: n }, (_, i) => ({ url: `http://10.${(i >> 8) & 255}.${i & 255}.1:8080`, weight: weight(i) }))
  const resolved = validateConfig({ pools: { p: { targets, balancer: config } }, routes: [{ path: '/', pool: 'p' }] }).pools.p!
  const built = resolved.targets.map((tc) => new Target(tc, resolved))
  const up = new UpstreamPool('p', resolved, built, createBalancer(resolved.balancer))
  // mixed loads, so least-connections has few ties; they stay put, every timed acquire is released
  built.forEach((t, i) => { for (let k = (i * 7) % 5; k > 0; k--) up.acquire(t) })
  return up
}

/** ns per pick for one balancer at one size: calibrate a loop to RUN_MS, then time RUNS such loops. */
function time (config: Contender, size: number, path: typeof PATHS[number]): { median: number; min: number } {
  const up = pool(config, size)
  // 1,024 different affinity keys, so the hash balancer cannot profit from one key's cached result
  const contexts: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `user-${i}` }))
  const targets = up.targets
  const tried = Array.from({ length: 1024 }, (_, i) => [targets[(i * 31) % targets.length]!])
  let sink = 0
  const loop = (iterations: number): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) {
      const t = path === 'request' ? up.pick(contexts[i & 1023]!) : up.pick(contexts[i & 1023]!, tried[i & 1023])
      up.acquire(t!)
      up.release(t!)
      sink += t!.weight
    }
    return Number(process.hrtime.bigint() - start)
  }
  let iterations = 16
  while (loop(iterations) < RUN_MS * 1e6 && iterations < 1 << 30) iterations *= 2
  const perPick = Array.from({ length: RUNS }, () => loop(iterations) / iterations)
  if (sink === -1) process.stderr.write('') // keeps the picks observable, so none is optimised away
  void up.close()
  return { median: median(perPick), min: Math.min(...perPick) }
}

const { values } = parseArgs({ options: { one: { type: 'string' } } })
if (values.one !== undefined) {
  const config = BALANCERS[values.one]
  if (config === undefined) throw new Error(`unknown balancer ${values.one}`)
  // a throwaway round first: the first timed cell would otherwise carry the JIT's warm-up
  for (const path of PATHS) time(config, 2, path)
  process.stdout.write(JSON.stringify(PATHS.map((path) => SIZES.map((size) => time(config, size, path)))))
} else {
  const self = fileURLToPath(import.meta.url)
  const lines = [
    `Pool pick path (UpstreamPool.pick + acquire + release), ns per request: median (minimum) of ${RUNS} runs of ~${RUN_MS} ms each; ` +
      `Node ${process.version}${canPin ? ', pinned to CPU 0' : ''}; one process per balancer; weights 1-3 unless the row says otherwise, mixed loads.`,
    '',
    `| balancer | path | ${SIZES.map((s) => `${s.toLocaleString('en-US')} targets`).join(' | ')} |`,
    `| --- | --- | ${SIZES.map(() => '---:').join(' | ')} |`,
  ]
  for (const name of Object.keys(BALANCERS)) {
    const argv = [process.execPath, self, '--one', name]
    const [cmd, ...args] = canPin ? ['taskset', '-c', '0', ...argv] : argv
    const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] })
    if (r.status !== 0) throw new Error(`timing ${name} failed (${r.signal ?? r.status})`)
    const byPath = JSON.parse(r.stdout) as { median: number; min: number }[][]
    const show = (v: number): string => (v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'))
    PATHS.forEach((path, i) => lines.push(`| ${name} | ${path} | ${byPath[i]!.map((v) => `${show(v.median)} (${show(v.min)})`).join(' | ')} |`))
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}
