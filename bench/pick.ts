// `node bench/pick.ts`: nanoseconds per pick() of every balancer (src/balancer/) at 2, 100, 1,000 and 10,000
// candidates: the median of several timed runs, and their minimum (a busy machine only ever adds time, so the
// minimum is the steadier figure there). Each balancer is timed in its own process (pinned to CPU 0 where
// taskset exists), so its call sites see one class only, as in a pool, and no balancer pays for another's
// garbage. Prints a markdown table for bench/RESULTS.md.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBalancer, type Candidate, type PickContext } from '../src/balancer/index.ts'
import type { BalancerConfig } from '../src/config/schema.ts'
import { canPin } from './children.ts'
import { median } from './report.ts'

const SIZES = [2, 100, 1000, 10_000]
const RUNS = 15
const RUN_MS = 10
const BALANCERS: Record<string, BalancerConfig> = {
  'round-robin': 'round-robin',
  'least-connections': 'least-connections',
  random: 'random',
  p2c: 'p2c',
  'hash (header key)': { type: 'hash', key: 'header:x-user' },
}

/** Candidates as a pool hands them over: mixed weights and in-flight counts (so least-connections has few ties). */
function candidates (n: number): Candidate[] {
  return Array.from({ length: n }, (_, i) => ({ url: `http://target-${i}.test:8080`, weight: 1 + (i % 3), inFlight: (i * 7) % 5 }))
}

/** ns per pick for one balancer at one size: calibrate a loop to RUN_MS, then time RUNS such loops. */
function time (config: BalancerConfig, size: number): { median: number; min: number } {
  const balancer = createBalancer(config)
  const list = candidates(size)
  // 1,024 different affinity keys, so the hash balancer cannot profit from one key's cached result
  const contexts: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `user-${i}` }))
  let sink = 0
  const loop = (iterations: number): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) sink += balancer.pick(list, contexts[i & 1023]!)!.weight
    return Number(process.hrtime.bigint() - start)
  }
  let iterations = 16
  while (loop(iterations) < RUN_MS * 1e6 && iterations < 1 << 30) iterations *= 2
  const perPick = Array.from({ length: RUNS }, () => loop(iterations) / iterations)
  if (sink === -1) process.stderr.write('') // keeps the picks observable, so none is optimised away
  return { median: median(perPick), min: Math.min(...perPick) }
}

const { values } = parseArgs({ options: { one: { type: 'string' } } })
if (values.one !== undefined) {
  const config = BALANCERS[values.one]
  if (config === undefined) throw new Error(`unknown balancer ${values.one}`)
  process.stdout.write(JSON.stringify(SIZES.map((size) => time(config, size))))
} else {
  const self = fileURLToPath(import.meta.url)
  const lines = [
    `pick() cost, ns per pick: median (minimum) of ${RUNS} runs of ~${RUN_MS} ms each; Node ${process.version}${canPin ? ', pinned to CPU 0' : ''}; one process per balancer.`,
    '',
    `| balancer | ${SIZES.map((s) => `${s.toLocaleString('en-US')} candidates`).join(' | ')} |`,
    `| --- | ${SIZES.map(() => '---:').join(' | ')} |`,
  ]
  for (const name of Object.keys(BALANCERS)) {
    const argv = [process.execPath, self, '--one', name]
    const [cmd, ...args] = canPin ? ['taskset', '-c', '0', ...argv] : argv
    const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'inherit'] })
    if (r.status !== 0) throw new Error(`timing ${name} failed (${r.signal ?? r.status})`)
    const ns = JSON.parse(r.stdout) as { median: number; min: number }[]
    const show = (v: number): string => (v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US'))
    lines.push(`| ${name} | ${ns.map((v) => `${show(v.median)} (${show(v.min)})`).join(' | ')} |`)
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}
