// Passive outlier detection: consecutive upstream failures eject a target for baseEjectionMs,
// every kind of upstream failure counts, 4xx do not, and never more than maxEjectionPercent of a tier.
import t from 'tap'
import type { Test } from 'tap'
import type { Mode, TestUpstream } from '../helpers/upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

type T = Test

const outlier = { consecutiveFailures: 3, baseEjectionMs: 300, maxEjectionPercent: 50 }

async function setup (t: T, count = 2, extra: Record<string, unknown> = {}) {
  const ups = await upstreams(t, count)
  const gw = await gateway(t, {
    pools: {
      api: {
        targets: ups.map((u) => u.url),
        outlier,
        retry: { attempts: 1 },
        // a breaker that cannot trip, so every request reaches a target
        circuitBreaker: { volumeThreshold: 1_000_000 },
        ...extra,
      },
    },
    routes: [{ path: '/', pool: 'api' }],
  }, ups)
  const rt = runtime(gw, 'api')
  const targetOf = (u: TestUpstream) => rt.pool.targets.find((x) => x.url === u.url)!
  return { ups, gw, rt, targetOf }
}

t.test('3 consecutive 503s eject a target; it gets no traffic, then returns after baseEjectionMs', async (t) => {
  // 1 s, not 300 ms: on a loaded machine (load 11 on 2 cores) six requests outlasted a 300 ms ejection
  const { ups: [u1, u2], gw, rt, targetOf } = await setup(t, 2, { outlier: { ...outlier, baseEjectionMs: 1000 } })
  const target = targetOf(u1!)
  let ejectedFor = 0
  rt.pool.on('status', (changed, status, previous) => {
    if (changed === target && status.ejectedUntil > previous.ejectedUntil) ejectedFor = status.ejectedUntil - performance.now()
  })
  u1!.failCount = 3
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await call(gw.url, '/x')).status)
  t.same(statuses.sort(), [200, 200, 200, 503, 503, 503], 'the 503s reach the client (attempts: 1)')
  t.equal(u1!.hits, 3)
  t.ok(rt.pool.status(target).ejectedUntil > performance.now(), 'ejected')
  t.ok(ejectedFor > 900 && ejectedFor <= 1000, `ejected for baseEjectionMs (${ejectedFor} ms left at the event)`)
  t.same(rt.pool.available().map((x) => x.url), [u2!.url])
  t.equal(rt.outlier.timesEjected(target), 1)

  // requests sent while the ejection surely lasts (50 ms margin) all go to u2
  const whileEjected: (string | null)[] = []
  while (whileEjected.length < 20 && rt.pool.status(target).ejectedUntil - 50 > performance.now()) whileEjected.push((await call(gw.url, '/x')).upstream)
  t.comment(`${whileEjected.length} requests sent while ejected`)
  t.ok(whileEjected.length >= 1)
  t.same(whileEjected, whileEjected.map(() => 'u2'))
  t.equal(u1!.hits, 3, 'no traffic while ejected')

  await waitFor(() => rt.pool.available().length === 2, 5000)
  for (let i = 0; i < 4; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > 3, 'traffic returns after the ejection')
})

t.test('failures must be consecutive: a success in between resets the count', async (t) => {
  const { ups: [u1], gw, rt, targetOf } = await setup(t)
  const target = targetOf(u1!)
  const sendUntil = async (hits: number): Promise<void> => {
    while (u1!.hits < hits) await call(gw.url, '/x')
  }
  u1!.failCount = 2
  await sendUntil(2)
  await sendUntil(3) // a success on u1
  u1!.failCount = 2
  await sendUntil(5)
  t.equal(rt.pool.status(target).ejectedUntil, 0, 'fail, fail, ok, fail, fail: not ejected')
  t.equal(rt.pool.available().length, 2)
  u1!.failCount = 1
  await sendUntil(6)
  t.ok(rt.pool.status(target).ejectedUntil > performance.now(), 'a third consecutive failure ejects')
})

const kinds: { name: string; status: number; error: string; mode?: Mode; refuse?: boolean; extra?: Record<string, unknown> }[] = [
  { name: 'connect errors (refused)', status: 502, error: 'upstream_unreachable', refuse: true },
  { name: 'resets before the response', status: 502, error: 'upstream_unreachable', mode: 'reset-before-response' },
  { name: 'timeouts', status: 504, error: 'upstream_timeout', mode: 'hang', extra: { timeouts: { requestMs: 200 } } },
]

for (const kind of kinds) {
  t.test(`${kind.name} count towards ejection`, async (t) => {
    // ejected for long enough that a loaded machine cannot end the ejection before the checks below
    const { ups: [u1], gw, rt, targetOf } = await setup(t, 2, { ...kind.extra, outlier: { ...outlier, baseEjectionMs: 10_000 } })
    const target = targetOf(u1!)
    if (kind.refuse) await u1!.refuse()
    if (kind.mode) u1!.mode = kind.mode
    // 6 requests at once: round-robin gives 3 to each target
    const replies = await Promise.all(Array.from({ length: 6 }, () => call(gw.url, '/x')))
    const failed = replies.filter((r) => r.status !== 200)
    t.equal(failed.length, 3)
    for (const r of failed) {
      t.equal(r.status, kind.status)
      t.equal(r.error, kind.error)
    }
    t.ok(rt.pool.status(target).ejectedUntil > performance.now(), 'ejected')
    t.equal(rt.outlier.timesEjected(target), 1)
    t.equal((await call(gw.url, '/x')).upstream, 'u2')
  })
}

t.test('4xx answers never count', async (t) => {
  const { ups: [u1, u2], gw, rt, targetOf } = await setup(t)
  for (let i = 0; i < 12; i++) {
    const r = await call(gw.url, '/x?status=404')
    t.equal(r.status, 404)
  }
  t.equal(u1!.hits, 6)
  t.equal(u2!.hits, 6)
  t.equal(rt.pool.status(targetOf(u1!)).ejectedUntil, 0)
  t.equal(rt.pool.status(targetOf(u2!)).ejectedUntil, 0)
  t.equal(rt.pool.available().length, 2)
})

t.test('never more than maxEjectionPercent of a tier: 2 failing targets, only one ejected', async (t) => {
  // long ejections, so none expires while the test looks
  const { ups: [u1, u2], gw, rt, targetOf } = await setup(t, 2, { outlier: { ...outlier, baseEjectionMs: 10_000 } })
  u1!.failCount = 1000
  u2!.failCount = 1000
  for (let i = 0; i < 12; i++) t.equal((await call(gw.url, '/x')).status, 503)
  const ejected = [u1!, u2!].filter((u) => rt.pool.status(targetOf(u)).ejectedUntil > performance.now())
  t.equal(ejected.length, 1, 'one of two (50%) ejected')
  t.equal(rt.pool.available().length, 1)
  t.ok(rt.outlier.skipped >= 1, 'the second ejection was refused')
})

t.test('maxEjectionPercent 50 of 4 failing targets: exactly 2 ejected', async (t) => {
  const { ups, gw, rt, targetOf } = await setup(t, 4, { outlier: { ...outlier, baseEjectionMs: 10_000 } })
  for (const u of ups) u.failCount = 1000
  for (let i = 0; i < 24; i++) t.equal((await call(gw.url, '/x')).status, 503)
  t.equal(ups.filter((u) => rt.pool.status(targetOf(u)).ejectedUntil > performance.now()).length, 2)
  t.equal(rt.pool.available().length, 2)
})
