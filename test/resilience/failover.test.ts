// Active-Standby: backups idle while a primary is available, failover within 1 s with no failed GETs,
// failback 'auto' and 'manual', and 503 no_available_target with Retry-After when nothing is left.
import t from 'tap'
import type { Test } from 'tap'
import type { Tier } from '../../src/upstream/pool.ts'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

const healthCheck = { path: '/health', intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 2 }

type T = Test

async function standbyPool (t: T, extra: Record<string, unknown> = {}) {
  const [p1, p2, b1] = await upstreams(t, 3, 'x')
  const gw = await gateway(t, {
    pools: {
      pay: {
        targets: [p1!.url, p2!.url, { url: b1!.url, backup: true }],
        healthCheck,
        ...extra,
      },
    },
    routes: [{ path: '/', pool: 'pay' }],
  }, [p1!, p2!, b1!])
  const rt = runtime(gw, 'pay')
  // every target has been probed healthy at least once
  await waitFor(() => p1!.healthChecks >= 1 && p2!.healthChecks >= 1 && b1!.healthChecks >= 1)
  return { p1: p1!, p2: p2!, b1: b1!, gw, rt }
}

interface Seen { at: number; status: number; error: string | undefined; upstream: string | null }

/**
 * Two clients send GETs back to back; once both primaries have answered a few, both are refused.
 * Returns every reply (status 0 = the client's request failed) and when the standby first answered.
 */
async function killPrimariesUnderLoad (env: Awaited<ReturnType<typeof standbyPool>>) {
  const { p1, p2, gw, rt } = env
  const tiers: { tier: Tier; at: number }[] = []
  rt.pool.on('tier', (tier) => tiers.push({ tier, at: performance.now() }))
  const replies: Seen[] = []
  let stop = false
  const client = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await call(gw.url, '/orders')
        replies.push({ at: performance.now(), status: r.status, error: r.error, upstream: r.upstream })
      } catch {
        replies.push({ at: performance.now(), status: 0, error: 'client', upstream: null })
      }
    }
  }
  const clients = [client(), client()]
  let killedAt = 0
  try {
    await waitFor(() => replies.length >= 4)
    killedAt = performance.now()
    await Promise.all([p1.refuse(), p2.refuse()])
    // up to 2 s for the standby's first answer and for health checks to move the pool to it (the spec asks
    // for 1 s; retries reach the standby at once, the tier follows when the primaries fail their probes)
    await waitFor(() => replies.some((r) => r.upstream === 'x3'), 2000, 5).catch(() => {})
    await waitFor(() => rt.pool.tier === 'backup', 2000, 5).catch(() => {})
    const n = replies.length
    await waitFor(() => replies.length >= n + 6, 1000).catch(() => {})
  } finally {
    stop = true
    await Promise.all(clients)
  }
  const after = replies.filter((r) => r.at > killedAt)
  const firstStandby = after.find((r) => r.upstream === 'x3')
  const toBackup = tiers.find((x) => x.tier === 'backup')
  return {
    replies: after,
    failoverMs: firstStandby ? firstStandby.at - killedAt : Infinity,
    tierMs: toBackup ? toBackup.at - killedAt : Infinity,
    tiers: tiers.map((x) => ({ tier: x.tier, ms: Math.round(x.at - killedAt) })),
  }
}

function summary (replies: readonly Seen[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of replies) {
    const k = r.status === 200 ? `200 ${r.upstream}` : `${r.status} ${r.error}`
    out[k] = (out[k] ?? 0) + 1
  }
  return out
}

t.test('the backup takes no traffic while any primary is available', async (t) => {
  const { p1, p2, b1, gw, rt } = await standbyPool(t)
  t.equal(rt.pool.tier, 'primary')
  for (let i = 0; i < 10; i++) t.equal((await call(gw.url, '/a')).status, 200)
  t.equal(b1.hits, 0)
  t.equal(p1.hits + p2.hits, 10)

  // one primary down: the other carries everything, the backup still idles
  p1.unhealthy = true
  const p1Target = rt.pool.targets.find((x) => x.url === p1.url)!
  await waitFor(() => !rt.pool.status(p1Target).healthy)
  t.equal(rt.pool.tier, 'primary')
  for (let i = 0; i < 10; i++) t.equal((await call(gw.url, '/a')).upstream, 'x2')
  t.equal(b1.hits, 0)
})

t.test('killing every primary moves traffic to the standby within 1 s, GETs in the window all succeed', async (t) => {
  // default pool config apart from the health check (circuit breaker and outlier detection on)
  const env = await standbyPool(t)
  const run = await killPrimariesUnderLoad(env)
  t.comment(`failover after ${run.failoverMs.toFixed(0)} ms; tier events ${JSON.stringify(run.tiers)}; replies ${JSON.stringify(summary(run.replies))}`)
  t.ok(run.failoverMs < 1000, 'traffic on the standby within 1 s of the primaries dying')
  t.ok(run.tierMs < 1000, `the pool switched to its standby tier within 1 s (${Math.round(run.tierMs)} ms)`)
  t.equal(env.rt.pool.tier, 'backup')
  t.same(summary(run.replies.filter((r) => r.status !== 200)), {}, 'every GET in the window succeeded')
})

t.test('failover window with a breaker that cannot trip: the standby is reached within 1 s and retries cover the window', async (t) => {
  // isolates the retry path from the breaker: only retries can save the GETs sent before health checks notice
  const env = await standbyPool(t, { circuitBreaker: { volumeThreshold: 1_000_000 } })
  const run = await killPrimariesUnderLoad(env)
  t.comment(`failover after ${run.failoverMs.toFixed(0)} ms; tier events ${JSON.stringify(run.tiers)}; replies ${JSON.stringify(summary(run.replies))}`)
  t.ok(run.failoverMs < 1000, 'traffic on the standby within 1 s of the primaries dying')
  t.ok(run.tierMs < 1000, `the pool switched to its standby tier within 1 s (${Math.round(run.tierMs)} ms)`)
  t.equal(env.rt.pool.tier, 'backup')
  t.same(summary(run.replies.filter((r) => r.status !== 200)), {}, 'every GET in the window succeeded')
})

t.test("failback 'auto' (default) returns traffic to the primaries when they recover", async (t) => {
  const { p1, p2, b1, gw, rt } = await standbyPool(t)
  t.equal(gw.gateway.config.pools.pay!.failback, 'auto')
  p1.unhealthy = true
  p2.unhealthy = true
  await waitFor(() => rt.pool.tier === 'backup')
  for (let i = 0; i < 4; i++) t.equal((await call(gw.url, '/a')).upstream, 'x3')

  p1.unhealthy = false
  p2.unhealthy = false
  await waitFor(() => rt.pool.tier === 'primary')
  await waitFor(() => rt.pool.available().length === 2)
  const standbyHits = b1.hits
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/a')).status, 200)
  t.equal(b1.hits, standbyHits, 'no more traffic on the standby')
  t.ok(p1.hits > 0 && p2.hits > 0)
})

t.test("failback 'auto' after refuse(): restore() + unhealthy=false brings traffic back", async (t) => {
  const { p1, p2, b1, gw, rt } = await standbyPool(t)
  await Promise.all([p1.refuse(), p2.refuse()])
  await waitFor(() => rt.pool.tier === 'backup')
  t.equal((await call(gw.url, '/a')).upstream, 'x3')
  await Promise.all([p1.restore(), p2.restore()])
  p1.unhealthy = false
  p2.unhealthy = false
  await waitFor(() => rt.pool.tier === 'primary')
  const standbyHits = b1.hits
  for (let i = 0; i < 4; i++) t.not((await call(gw.url, '/a')).upstream, 'x3')
  t.equal(b1.hits, standbyHits)
})

t.test("failback 'manual' stays on the standby until pool.failback()", async (t) => {
  const { p1, p2, b1, gw, rt } = await standbyPool(t, { failback: 'manual' })
  p1.unhealthy = true
  p2.unhealthy = true
  await waitFor(() => rt.pool.tier === 'backup')
  p1.unhealthy = false
  p2.unhealthy = false
  const targets = rt.pool.targets.filter((x) => !x.backup)
  await waitFor(() => targets.every((x) => rt.pool.status(x).healthy))
  t.equal(rt.pool.tier, 'backup', 'primaries healthy again, traffic stays on the standby')
  const primaryHits = p1.hits + p2.hits
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/a')).upstream, 'x3')
  t.equal(p1.hits + p2.hits, primaryHits)

  rt.pool.failback()
  t.equal(rt.pool.tier, 'primary')
  const standbyHits = b1.hits
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/a')).status, 200)
  t.equal(b1.hits, standbyHits, 'operator failback moved traffic to the primaries')
  t.equal(p1.hits + p2.hits, primaryHits + 6)
})

t.test('every target down: 503 no_available_target with Retry-After', async (t) => {
  const { p1, p2, b1, gw, rt } = await standbyPool(t)
  for (const u of [p1, p2, b1]) u.unhealthy = true
  await waitFor(() => rt.pool.tier === 'none')
  t.same(rt.pool.available(), [])
  const hits = p1.hits + p2.hits + b1.hits
  const r = await call(gw.url, '/a')
  t.equal(r.status, 503)
  t.equal(r.error, 'no_available_target')
  const retryAfter = Number(r.headers.get('retry-after'))
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${r.headers.get('retry-after')}`)
  t.equal(p1.hits + p2.hits + b1.hits, hits, 'no upstream touched')

  // and back
  b1.unhealthy = false
  await waitFor(() => rt.pool.tier === 'backup')
  t.equal((await call(gw.url, '/a')).upstream, 'x3')
})
