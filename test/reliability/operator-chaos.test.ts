// Property: whatever sequence of operator actions hits a running gateway under steady client load — drains,
// enables, disables, switchovers and failbacks, forced breakers, canary weights, reloads of a rewritten config
// (valid or not), upstreams killed and restarted on their port, waits, two actions racing — the gateway keeps its
// promises. The world (opchaos/world.ts) runs each case against real upstreams and a real gateway; the checks:
// - during: every admin answer is the one the operator's model expects, and the gateway then agrees with the model
//   (opchaos/agreement.ts): config hash, pools, targets, drain and disable in the pools and in /status, switchover
//   and the tier it implies, canary weight; two racing actions end as one of their serial orders; a reload reports
//   exactly what changed; no internal error is logged; /status and /readyz answer 200 all along;
// - traffic (opchaos/traffic.ts): every request is answered, 2xx by a target its pool had available, or refused
//   only with a catalogue code that the moment explains: no_route while the config lacked the route, circuit_open
//   while the breaker was not closed, no_available_target / upstream_unreachable / upstream_timeout while every
//   available target was down or more were down than the retry policy has attempts, and a POST (sent once) that
//   was at a target when it was killed; anything else is a bug. A drained, disabled or removed target takes no
//   request sent after the call returned and no more than were in flight then; the canary at weight 0 none sent
//   after; no probe reaches a target no pool checks;
// - after (opchaos/aftermath.ts): nothing in flight, no connection to removed targets, every attempt in the
//   metrics, every target in rotation healthy and serving once its upstream is back, one probe schedule per
//   checked target, one breaker interval per pool, no removed target left in memory.
// Choices this test documents rather than changes: a pool rebuilt by a reload starts with a closed breaker; a
// reload sets the canary weight from the file again only when it changes the route's canary settings (an
// operator's weight and a rollback outlive other changes); a drain reaches the running pool, not a copy of the target a reload retired with
// requests still in flight (their retries may use it: allowed, bounded by those requests); targets a reload adds
// take traffic at once, before a first check; balancers keep what they precomputed for their last list or two of
// targets, so a removed target may stay in memory that long (bounded). The breaker is not on the admin API: the
// test forces it in-process.
// FUZZ_RUNS (default 4) and FUZZ_SEED run more or other sequences; FUZZ_SHRINK=1 shrinks a failing one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { describe, sequence, type Action } from './opchaos/actions.ts'
import { World } from './opchaos/world.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 4)
const seed = Number(process.env.FUZZ_SEED ?? 20261201)

async function runCase (dir: string, tag: string, actions: readonly Action[], loadSeed: number, end: 'finish' | 'shutdown' = 'finish'): Promise<void> {
  const world = await World.start({ dir, seed: loadSeed, tag })
  try {
    await world.run(actions)
    await (end === 'shutdown' ? world.shutdown() : world.finish())
  } finally {
    await world.close()
  }
}

t.test(`operator chaos under load: ${runs} sequences from seed ${seed}`, async (t) => {
  // not t.testdir(): runs of this file side by side (FUZZ_SEED) would share and delete it
  const dir = mkdtempSync(join(tmpdir(), 'operator-chaos-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  // one case in four ends with a graceful shutdown under load instead of the checks after the load stops
  const end = fc.constantFrom<'finish' | 'shutdown'>('finish', 'finish', 'finish', 'shutdown')
  const property = fc.asyncProperty(sequence, fc.integer({ min: 1, max: 1e9 }), end, async (actions, loadSeed, how) => {
    await runCase(dir, `case${++n}`, actions, loadSeed, how)
  })
  const details = await fc.check(property, { numRuns: runs, seed, endOnFailure: process.env.FUZZ_SHRINK !== '1' })
  if (details.failed) {
    const example = details.counterexample
    const which = example === null ? 'no counterexample' : `sequence [${example[0].map(describe).join(', ')}], load seed ${example[1]}, then ${example[2]}`
    t.fail(`${which} (seed ${details.seed}, path ${details.counterexamplePath})\n${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance)}`)
  } else {
    t.pass(`${details.numRuns} sequences kept every invariant`)
  }
})

// Sequences that once broke an invariant, each as found (shrunk by hand to the actions that matter), each failing
// before its fix in src/.
const regressions: Array<{ name: string; actions: Action[] }> = [
  {
    // src/upstream/registry.ts: a pool rebuilt by a reload (any setting changed) forgot the switchover
    name: 'a reload that rebuilds a switched-over pool keeps its traffic on the backups',
    actions: [{ kind: 'switchover', pool: 'api' }, { kind: 'reload', change: { op: 'balancer', pool: 'api', balancer: 'least-connections' } }],
  },
  {
    // the same for a failover under failback 'manual': the reload moved traffic back to the primaries by itself
    name: "a reload that rebuilds a pool failed over under failback 'manual' keeps it on its backups",
    actions: [
      { kind: 'reload', change: { op: 'failback', pool: 'api', mode: 'manual' } },
      { kind: 'kill', target: 'a1' }, { kind: 'kill', target: 'a2' }, { kind: 'wait', ms: 500 },
      { kind: 'restart', target: 'a1' }, { kind: 'restart', target: 'a2' }, { kind: 'wait', ms: 400 },
      { kind: 'reload', change: { op: 'balancer', pool: 'api', balancer: 'p2c' } },
    ],
  },
  {
    // src/upstream/registry.ts: a target whose weight (or backup flag) a reload changed came back as a new target,
    // enabled and healthy, in a pool the reload kept (a rebuilt pool carried its state by URL all along)
    name: 'a reload that changes the weight of a disabled target keeps it disabled',
    actions: [{ kind: 'disable', target: 'w1' }, { kind: 'reload', change: { op: 'weight', target: 'w1', weight: 2 } }],
  },
  {
    // src/upstream/registry.ts: the rebuilt pool carried 'unhealthy' by URL, and with no checks left nothing ever
    // brought the target back (its only target: the pool answered no_available_target for good)
    name: 'a reload that turns health checks off lets a target marked unhealthy come back',
    actions: [{ kind: 'kill', target: 'w1' }, { kind: 'wait', ms: 300 }, { kind: 'reload', change: { op: 'health', pool: 'web', healthMs: undefined } }, { kind: 'restart', target: 'w1' }],
  },
  {
    // src/app.ts: the pool's observer kept the forgotten series' binding by target id and counted into it
    name: 'a target removed and added again by reloads exports its attempts again',
    actions: [{ kind: 'reload', change: { op: 'remove', target: 'w1' } }, { kind: 'reload', change: { op: 'add', target: 'w1' } }, { kind: 'wait', ms: 100 }],
  },
  {
    // src/health/outlier.ts: the outlier detector kept every target that ever failed, removed or not, for as long
    // as its pool ran (with DNS discovery, every pod address a rolling deploy retired). The weight changes only
    // move the balancers' lists on, so that nothing else may still hold the removed target.
    name: 'a target that failed and was then removed is not kept alive by its pool',
    actions: [
      { kind: 'reload', change: { op: 'add', target: 'w3' } }, { kind: 'kill', target: 'w1' }, { kind: 'wait', ms: 150 },
      { kind: 'reload', change: { op: 'remove', target: 'w1' } },
      { kind: 'reload', change: { op: 'weight', target: 'w2', weight: 2 } }, { kind: 'reload', change: { op: 'weight', target: 'w2', weight: 3 } },
      { kind: 'reload', change: { op: 'weight', target: 'w3', weight: 2 } }, { kind: 'wait', ms: 100 },
    ],
  },
]

t.test('regressions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'operator-chaos-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  for (const r of regressions) {
    await t.test(r.name, async (t) => {
      try {
        await runCase(dir, `regression${++n}`, r.actions, 7)
        t.pass('every invariant held')
      } catch (err) {
        t.fail((err as Error).message)
      }
    })
  }
})
