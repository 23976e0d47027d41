// node scripts/chaos.ts [--seed N] [--steps N] [--gap MS] [--mode ops|split|both] [--quiet]
// Seeded random steps against the real CLI under steady traffic, with per-request and per-step checks; the two
// modes are described in scripts/chaos/ops.ts (reloads and operator actions) and scripts/chaos/split.ts
// (read/write split, mirror, an upstream killed and restarted). Prints the seed first, every step (unless
// --quiet) and one summary line per mode; exits 1 on any violation, naming the seed and the step to replay from.
// The same seed gives the same steps (the traffic itself is random); each mode runs its own gateway, one after
// the other, so the load stays at a few hundred requests per second.
import { parseArgs } from 'node:util'
import { running } from './chaos/gateway.ts'
import { runOps } from './chaos/ops.ts'
import type { Options, Summary } from './chaos/run.ts'
import { runSplit } from './chaos/split.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    steps: { type: 'string', default: '40' },
    gap: { type: 'string', default: '250' },
    mode: { type: 'string', default: 'both' },
    quiet: { type: 'boolean', default: false },
  },
})
const options: Options = { seed: Number(values.seed ?? Date.now() % 1e9), steps: Number(values.steps), gapMs: Number(values.gap), quiet: values.quiet }
if (!Number.isInteger(options.seed)) throw new Error('--seed must be an integer')
if (!Number.isInteger(options.steps) || options.steps < 0) throw new Error('--steps must be a whole number')
if (!Number.isFinite(options.gapMs) || options.gapMs < 0) throw new Error('--gap must be a number of milliseconds')
if (!['ops', 'split', 'both'].includes(values.mode)) throw new Error('--mode must be ops, split or both')
const modes = values.mode === 'both' ? ['ops', 'split'] : [values.mode]

// a gateway left behind would hold its ports: stop them on any exit, Ctrl-C, `timeout` or a cancelled job included
// (Node dies of SIGTERM and SIGHUP without an 'exit' event)
process.on('exit', () => { for (const gateway of running) gateway.killNow() })
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => {
    console.log(`${signal}: stopping the gateway`)
    void Promise.all([...running].map((g) => g.stop())).finally(() => process.exit(code))
  })
}

console.log(`seed ${options.seed} steps ${options.steps} gap ${options.gapMs} mode ${values.mode}`)
const started = performance.now()
const summaries: Summary[] = []
for (const mode of modes) {
  const summary = mode === 'ops' ? await runOps(options) : await runSplit(options)
  summaries.push(summary)
  const kinds = new Map<string, number>()
  for (const v of summary.violations) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1)
  const failures = kinds.size === 0 ? 'none' : [...kinds].map(([k, n]) => `${k}=${n}`).join(' ')
  console.log(`${mode}: ${summary.requests} requests (${summary.ok} ok, ${summary.allowedFailures} allowed failures), ${summary.reloads} reloads, ${summary.actions} ${mode === 'ops' ? 'admin actions' : 'kills'}, ${summary.extra}; violations: ${failures}`)
  // a check whose step never came cannot have fired: the steps run tell what this seed exercised
  console.log(`${mode} steps: ${[...summary.stepKinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}=${n}`).join(' ')}`)
}
const violations = summaries.flatMap((s) => s.violations.map((v) => ({ ...s, ...v })))
// the first few of each kind: one broken rule can fail hundreds of requests
const shown = new Map<string, number>()
for (const v of violations) {
  const key = `${v.mode} ${v.kind}`
  const n = shown.get(key) ?? 0
  shown.set(key, n + 1)
  if (n < 5) console.log(`  VIOLATION ${v.mode} ${v.step} [${v.kind}] ${v.text}`)
  else if (n === 5) console.log(`  … more ${v.mode} ${v.kind} violations (${summaries.find((s) => s.mode === v.mode)!.violations.filter((x) => x.kind === v.kind).length} in all)`)
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (violations.length > 0) {
  const first = violations[0]!
  console.log(`FAILED: seed ${options.seed}, first violation in mode ${first.mode} at ${first.step}; replay: node scripts/chaos.ts --seed ${options.seed} --mode ${first.mode} --steps ${options.steps} --gap ${options.gapMs}`)
  process.exit(1)
}
console.log('chaos passed')
