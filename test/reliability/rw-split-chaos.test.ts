// Property: whatever happens around a read/write split route — replicas lagging past maxLagMs and catching up,
// replicas refusing, resetting, answering 5xx or hanging and coming back, the primary going down and up, the replica
// pool's breaker opening, drain/disable/enable of replicas, reloads that change the route's reads settings (pool,
// methods, stickyAfterWriteMs, maxLagMs, the split removed and put back) before or while requests are in flight,
// the gateway's wall clock moving past read-your-writes windows — the split keeps its promises to clients that are
// browsers (cookie jar) and API clients (echoing x-read-after-write), some adding forged, expired or tampered tokens:
// - a write (a method outside reads.methods, not GET or HEAD) reaches the primary and never a replica; a successful
//   one answers with the cookie and header, and pins that client's reads to the primary (and only there) until its
//   window ends (a reload that shortens the window keeps the longer one for the tokens minted before it); a GET or
//   HEAD left out of reads.methods reaches the primary only and pins nothing;
// - a forged, expired, too-far, other-route, other-secret or malformed token pins nothing, and beside a real
//   cookie it unpins nothing;
// - a read that is not pinned is served by a replica in rotation when one answers, else by the primary, with no
//   failed request while the primary is up; drained, disabled, lagging and (once probed) refused replicas take no
//   read (a replica the health checks took out comes back with its lag unknown: lagging until it reports it);
//   methods added to reads.methods (POST /search) are reads;
// - a reload applies the new settings without failing a request in flight (each keeps the promises of the
//   settings before or after it);
// - the access log names the pool and target that served each request; switchyard_reads_to_primary_total counts
//   the pinned reads and every read that fell back; no internal error, no uncaught exception.
// Allowed failures, each with its catalogue code: while the primary refuses connections, a write or a pinned read
// gets 502 upstream_unreachable, and so does a read with no replica able to answer. The model and the choices made
// where the README is silent: rwchaos/model.ts. Windows are 30 s to 5 min and the test steps the gateway's clock
// (GatewayOptions.clock) past them: nothing sleeps for a window.
// RWCHAOS_RUNS (default 3) and RWCHAOS_SEED run more or other cases, RWCHAOS_PATH replays one; RWCHAOS_SHRINK=1
// shrinks a failing one.
import fc from 'fast-check'
import t from 'tap'
import { collectProcessFaults } from '../helpers/process-faults.ts'
import { isWrite } from './rwchaos/model.ts'
import { describeReads, describeStep, scenario, type Scenario } from './rwchaos/scenario.ts'
import { World } from './rwchaos/world.ts'

const runs = Number(process.env.RWCHAOS_RUNS ?? 3)
const seed = Number(process.env.RWCHAOS_SEED ?? 20261203)

/** What the cases exercised, so a run that judged nothing interesting shows it. */
const seen = { requests: 0, writes: 0, pinnedReads: 0, readsToPrimary: 0, forged: 0, overlapped: 0, hiccups: 0 }

async function runCase (s: Scenario, tag: string): Promise<void> {
  const world = await World.start(s, tag)
  try {
    await world.run(s.steps)
    await world.checkAccessLog()
    await world.checkMetrics()
  } finally {
    await world.close()
  }
  for (const o of world.observed) {
    seen.requests++
    if (o.read === false && isWrite(o.method)) seen.writes++
    if (o.read === true && o.pinned === true) seen.pinnedReads++
    if (o.read === true && o.pinned === false && o.servedBy === 'primary') seen.readsToPrimary++
    if (o.tamper !== undefined) seen.forged++
    if (o.overlapped) seen.overlapped++
  }
  seen.hiccups += world.hiccups
}

function describe (s: Scenario): string {
  return `clients [${s.clients.join(', ')}], start ${describeReads(s.initial)}, steps [${s.steps.map(describeStep).join('; ')}]`
}

t.test(`read/write split chaos: ${runs} cases from seed ${seed}`, async (t) => {
  const faults = collectProcessFaults(t)
  let n = 0
  const property = fc.asyncProperty(scenario, async (s) => { await runCase(s, `c${++n}`) })
  const path = process.env.RWCHAOS_PATH
  // unbiased: fast-check's first runs are its smallest, and the few of `npm test` would never reach a fallback
  const details = await fc.check(property, { numRuns: runs, seed, unbiased: true, endOnFailure: process.env.RWCHAOS_SHRINK !== '1', ...(path !== undefined ? { path } : {}) })
  if (details.failed) {
    const example = details.counterexample
    t.fail(`${example === null ? 'no counterexample' : describe(example[0])} (seed ${details.seed}, path ${details.counterexamplePath})\n${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance)}`)
    if (example !== null) t.comment(`the case, for the regressions below: ${JSON.stringify(example[0])}`)
  } else {
    t.pass(`${details.numRuns} cases kept every promise`)
    t.comment(`requests ${seen.requests}: writes ${seen.writes}, reads pinned ${seen.pinnedReads}, unpinned reads served by the primary ${seen.readsToPrimary}, with a forged token ${seen.forged}, overlapping a reload ${seen.overlapped}; batches that may have fallen back for a stall of this machine: ${seen.hiccups}`)
  }
  t.strictSame(faults, [], 'no uncaught exception or unhandled rejection')
})

// Cases that once broke a promise, shrunk by hand to the steps that matter, each failing before its fix in src/.
const split = { pool: 'replicas', methods: ['GET', 'HEAD'], stickyAfterWriteMs: 30_000, maxLagMs: undefined } as const
const regressions: Array<{ name: string; s: Scenario }> = [
  {
    // src/health/active.ts: a new maxLagMs was applied from each replica's next probe on
    name: 'a reload that sets maxLagMs takes a replica that already reported more lag out at once',
    s: {
      clients: ['browser'],
      initial: { ...split, methods: ['GET', 'HEAD'] },
      steps: [
        { kind: 'lag', replica: 'r1', lagMs: 5000 },
        { kind: 'reload', reads: { ...split, methods: ['GET', 'HEAD'], maxLagMs: 2000 } },
        { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }, { method: 'GET', tamper: undefined }, { method: 'HEAD', tamper: undefined }]], reloadMidway: undefined },
      ],
    },
  },
  {
    // src/proxy/attempt.ts: the only replica's attempt took the whole deadline, and the primary got 1 ms of it
    name: 'a read whose only replica hangs is served by the primary',
    s: {
      clients: ['api'],
      initial: { ...split, methods: ['GET', 'HEAD'], pool: 'replicasB' },
      steps: [{ kind: 'fail', replica: 'r3', fault: 'hang' }, { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }, { method: 'HEAD', tamper: undefined }]], reloadMidway: undefined }],
    },
  },
  {
    // src/proxy/attempt.ts: the last replica's 503 was passed on to the client although the primary was up
    name: 'reads of a pool whose replicas all answer 503 are served by the primary',
    s: {
      clients: ['browser', 'api'],
      initial: { ...split, methods: ['GET', 'HEAD'] },
      steps: [{ kind: 'outage', pool: 'replicas', fault: '5xx' }, { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }], [{ method: 'HEAD', tamper: undefined }]], reloadMidway: undefined }],
    },
  },
  {
    // src/proxy/forward.ts: a read with a body (POST in reads.methods) was not kept for the fallback when the replica
    // pool's retry policy would not resend it (one attempt), so a failing replica failed it
    name: 'a POST read of a one-attempt replica pool whose replica fails is served by the primary',
    s: {
      clients: ['browser'],
      initial: { ...split, methods: ['GET', 'HEAD', 'POST'], pool: 'replicasB' },
      steps: [
        { kind: 'fail', replica: 'r3', fault: '5xx' },
        { kind: 'traffic', ops: [[{ method: 'POST', tamper: undefined }]], reloadMidway: undefined },
        { kind: 'fail', replica: 'r3', fault: 'reset' },
        { kind: 'traffic', ops: [[{ method: 'POST', tamper: undefined }]], reloadMidway: undefined },
      ],
    },
  },
  {
    // src/proxy/front.ts (1a50a7c): a safe method left out of reads.methods pinned the client's reads like a write
    name: 'a HEAD outside reads.methods goes to the primary and pins nothing',
    s: {
      clients: ['browser', 'api'],
      initial: { ...split, methods: ['GET'] },
      steps: [{ kind: 'traffic', ops: [[{ method: 'HEAD', tamper: undefined }, { method: 'GET', tamper: undefined }], [{ method: 'HEAD', tamper: undefined }, { method: 'GET', tamper: undefined }]], reloadMidway: undefined }],
    },
  },
  {
    // src/release/read-after-write.ts (f4d644d): a reload that shortened the window dropped the pins minted under it
    name: 'a reload that shortens stickyAfterWriteMs keeps the pins minted before it until they expire',
    s: {
      clients: ['browser', 'api'],
      initial: { ...split, methods: ['GET', 'HEAD'], stickyAfterWriteMs: 300_000 },
      steps: [
        { kind: 'traffic', ops: [[{ method: 'POST', tamper: undefined }], [{ method: 'PUT', tamper: undefined }]], reloadMidway: undefined },
        { kind: 'reload', reads: { ...split, methods: ['GET', 'HEAD'], stickyAfterWriteMs: 30_000 } },
        // 20 s on, the tokens expire 280 s later: further away than the new window, honoured by the one kept
        { kind: 'clock', ms: 20_000 },
        { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }, { method: 'HEAD', tamper: undefined }], [{ method: 'GET', tamper: undefined }]], reloadMidway: undefined },
        { kind: 'clock', ms: 400_000 },
        { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }], [{ method: 'GET', tamper: undefined }]], reloadMidway: undefined },
      ],
    },
  },
  {
    // src/health/active.ts (78098ab): a replica back from being marked unhealthy was judged by the lag it reported
    // before it was out; the forgotten lag is judged only by a reload that changes maxLagMs, or its next probe
    name: 'a replica the health checks took out forgets its lag: lagging at the next new maxLagMs until it reports',
    s: {
      clients: ['browser'],
      initial: { ...split, methods: ['GET', 'HEAD'], maxLagMs: 2000 },
      steps: [
        { kind: 'lag', replica: 'r1', lagMs: 100 },
        { kind: 'fail', replica: 'r1', fault: 'refuse' },
        { kind: 'reload', reads: { ...split, methods: ['GET', 'HEAD'], maxLagMs: 500 } },
        { kind: 'recover', replica: 'r1' },
        { kind: 'traffic', ops: [[{ method: 'GET', tamper: undefined }, { method: 'GET', tamper: undefined }]], reloadMidway: undefined },
      ],
    },
  },
]

t.test('regressions', async (t) => {
  let n = 0
  for (const r of regressions) {
    await t.test(r.name, async (t) => {
      try {
        await runCase(r.s, `regression${++n}`)
        t.pass('every promise kept')
      } catch (err) {
        t.fail((err as Error).message)
      }
    })
  }
})
