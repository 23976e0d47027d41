// Retry budget (Envoy style): retries in flight ≤ max(percent% of active requests, minConcurrent);
// retries refused by the budget are counted; a burst of failing requests cannot multiply the load.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import type { Test } from 'tap'
import type { RetryBudget } from '../../src/resilience/budget.ts'
import { waitFor } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { call, gateway, runtime, upstreams } from './_util.ts'

type T = Test

const N = 20

/** Counts, at the upstreams, requests whose x-request-id was seen before (retries), and how many run at once. */
function watchRetries (ups: readonly TestUpstream[]) {
  const seen = new Set<string>()
  const stats = { retries: 0, inFlight: 0, maxInFlight: 0 }
  for (const u of ups) {
    u.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/health') return
      const id = String(req.headers['x-request-id'])
      if (seen.has(id)) {
        stats.retries++
        stats.inFlight++
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
        res.once('close', () => { stats.inFlight-- })
      }
      seen.add(id)
    })
  }
  return stats
}

/**
 * The most retry slots and active requests the budget ever held, and the least: the instance's own methods are
 * wrapped to read its counters at every change, so no peak falls between two samples.
 */
function watchBudget (budget: RetryBudget) {
  const seen = { maxRetriesInFlight: 0, maxActive: 0, min: 0 }
  const note = (): void => {
    seen.maxRetriesInFlight = Math.max(seen.maxRetriesInFlight, budget.retriesInFlight)
    seen.maxActive = Math.max(seen.maxActive, budget.active)
    seen.min = Math.min(seen.min, budget.retriesInFlight, budget.active)
  }
  const { tryAcquire, release, tryStartRequest, requestFinished } = budget
  budget.tryAcquire = () => { const taken = tryAcquire.call(budget); note(); return taken }
  budget.release = () => { release.call(budget); note() }
  budget.tryStartRequest = () => { const started = tryStartRequest.call(budget); note(); return started }
  budget.requestFinished = () => { requestFinished.call(budget); note() }
  return seen
}

async function burst (t: T, budget: { percent: number; minConcurrent: number }, fail: (u: TestUpstream) => void) {
  const ups = await upstreams(t, 2)
  const gw = await gateway(t, {
    pools: {
      api: {
        targets: ups.map((u) => u.url),
        retry: { attempts: 3, budget },
        // isolate the budget: no breaker trips, no ejections
        circuitBreaker: { volumeThreshold: 1_000_000 },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'api' }],
  }, ups)
  const rt = runtime(gw, 'api')
  for (const u of ups) {
    u.delayMs = 250 // keeps the burst's requests in flight together
    fail(u)
  }
  const atUpstream = watchRetries(ups)
  const seen = watchBudget(rt.budget)
  const replies = await Promise.all(Array.from({ length: N }, (_, i) => call(gw.url, `/burst?i=${i}`)))
  await waitFor(() => gw.accessLogs().length === N)
  const { maxRetriesInFlight: maxBudgetInFlight, maxActive } = seen
  t.equal(seen.min, 0, 'no counter ever went below zero (every slot and request released once)')
  const attempts = gw.accessLogs().map((l) => l.attempts as number)
  const total = ups.reduce((n, u) => n + u.hits, 0)
  t.comment(`N=${N} (at most ${maxActive} active at once): ${total} upstream requests, ${atUpstream.retries} retries, at most ${atUpstream.maxInFlight} at once ` +
    `(budget saw ${maxBudgetInFlight}); rejected=${rt.budget.rejected}; attempts per request ${attempts.join(',')}; ` +
    `statuses ${replies.map((r) => `${r.status}${r.error ? ` ${r.error}` : ''}`).join(',')}`)
  return { replies, attempts, total, atUpstream, maxBudgetInFlight, rt }
}

const budget = { percent: 20, minConcurrent: 1 }
const allowed = Math.max(Math.ceil((N * budget.percent) / 100), budget.minConcurrent) // 4 with 20 active

t.test('a burst of requests failing with 503: retries capped, no retry storm, rejections counted', async (t) => {
  const run = await burst(t, budget, (u) => { u.failCount = 1_000_000 })
  t.same(run.replies.filter((r) => r.status < 500), [], 'every request failed (the upstreams only fail)')
  t.ok(run.atUpstream.maxInFlight <= allowed, `at most ${allowed} retries at once at the upstreams (saw ${run.atUpstream.maxInFlight})`)
  t.ok(run.maxBudgetInFlight <= allowed, `at most ${allowed} retry slots taken at once (saw ${run.maxBudgetInFlight})`)
  t.ok(run.total <= N + allowed, `total upstream requests ${run.total} ≤ N + allowed retries (${N + allowed}); without a budget it would be ${N * 3}`)
  t.ok(run.rt.budget.rejected > 0, 'rejected retries are counted')
  // every failure here was retryable, so each request that stopped before its 3rd attempt was refused by the budget
  const refused = run.attempts.filter((a) => a < 3).length
  t.equal(run.rt.budget.rejected, refused, 'every retry the budget refused is counted')
  t.equal(run.rt.budget.retriesInFlight, 0)
  t.equal(run.rt.budget.active, 0)
})

t.test('a burst of requests whose upstream resets: retries capped, rejections counted', async (t) => {
  const run = await burst(t, budget, (u) => { u.mode = 'reset-before-response' })
  t.same(run.replies.map((r) => r.error), run.replies.map(() => 'upstream_unreachable'))
  t.ok(run.atUpstream.maxInFlight <= allowed, `at most ${allowed} retries at once at the upstreams (saw ${run.atUpstream.maxInFlight})`)
  t.ok(run.maxBudgetInFlight <= allowed, `at most ${allowed} retry slots taken at once (saw ${run.maxBudgetInFlight})`)
  t.ok(run.total < N * 3, 'far fewer upstream requests than N × attempts')
  t.ok(run.rt.budget.rejected > 0, 'rejected retries are counted')
  t.equal(run.rt.budget.rejected, run.attempts.filter((a) => a < 3).length, 'every retry the budget refused is counted')
})

t.test('a budget of 0% with minConcurrent 0 allows no retry at all, and counts every refusal', async (t) => {
  const run = await burst(t, { percent: 0, minConcurrent: 0 }, (u) => { u.failCount = 1_000_000 })
  t.equal(run.total, N, 'one upstream request per client request')
  t.equal(run.atUpstream.retries, 0)
  t.equal(run.maxBudgetInFlight, 0, 'no retry slot was ever taken')
  t.same(run.attempts, run.attempts.map(() => 1))
  t.equal(run.rt.budget.rejected, N, 'each of the N refused retries is counted')
})
