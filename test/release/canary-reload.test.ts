// A canary's weight across reloads: a reload that leaves the route's canary settings as they were keeps the weight a
// rollback or an operator left (a change elsewhere must not send traffic back to a version that failed); a reload
// that changes them starts the canary from the file.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { mulberry32 } from '../unit/prng.ts'
import { httpRequest } from '../proxy/http.ts'
import { buildPlans, type PlanEvents, type RoutePlan } from '../../src/release/plans.ts'
import { type Route, RoutingTable } from '../../src/routing/table.ts'
import type { Clock } from '../../src/runtime.ts'

t.test('a rollback and an operator weight outlive reloads that change something else; a new canary weight in the file wins', async (t) => {
  const [v1, v2, extra] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' }), TestUpstream.start({ name: 'extra' })])
  t.teardown(() => Promise.all([v1.close(), v2.close(), extra.close()]))
  const config = (weight: number, v1Targets: string[]): GatewayConfig => ({
    pools: { 'payment-v1': { targets: v1Targets }, 'payment-v2': { targets: [v2.url], retry: { attempts: 1 } } },
    routes: [{ name: 'payment', path: '/payment', pool: 'payment-v1', canary: { pool: 'payment-v2', weight, rollback: { maxErrorRatePercent: 5, minRequests: 20, windowMs: 60_000 } } }],
  })
  let next = config(50, [v1.url])
  const gw = await startGateway(next, { defaultMetrics: false, random: mulberry32(7), load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const canary = (): { weight: number; source: string } => {
    const c = gw.gateway.status().routes.find((r) => r.name === 'payment')!.canary!
    return { weight: c.weight, source: c.weightSource }
  }

  v2.failCount = 1_000_000
  v2.failStatus = 500
  for (let i = 0; i < 200 && canary().source !== 'rollback'; i++) await httpRequest(`${gw.url}/payment/x`)
  t.strictSame(canary(), { weight: 0, source: 'rollback' }, 'the failing canary is rolled back')

  // another target for the stable pool: the route's canary settings are as they were
  next = config(50, [v1.url, extra.url])
  t.equal((await gw.gateway.reload()).result, 'success')
  t.strictSame(canary(), { weight: 0, source: 'rollback' }, 'the rollback stands after a reload that changed something else')
  const hits = v2.hits
  for (let i = 0; i < 30; i++) t.equal((await httpRequest(`${gw.url}/payment/x`)).status, 200)
  t.equal(v2.hits, hits, 'no request reaches the rolled-back canary')

  // the release is redone in the file: a new weight starts the canary from it
  v2.failCount = 0
  next = config(20, [v1.url, extra.url])
  t.equal((await gw.gateway.reload()).result, 'success')
  t.strictSame(canary(), { weight: 20, source: 'file' }, 'a changed canary weight in the file wins')
})

// An unnamed route is known by its id, which its methods, host and headers are part of: a reload that changes one of
// those (or names the route) and leaves the canary settings as they were keeps the rollback too. It came back at the
// file's weight, and the failing canary was sent requests again.
t.test('a rollback outlives a reload that changes an unnamed route\'s methods or host, or names it', async (t) => {
  const [v1, v2] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' })])
  t.teardown(() => Promise.all([v1.close(), v2.close()]))
  const config = (route: Record<string, unknown>): GatewayConfig => ({
    pools: { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [v2.url], retry: { attempts: 1 } } },
    routes: [{ path: '/payment', pool: 'payment-v1', ...route, canary: { pool: 'payment-v2', weight: 50, rollback: { maxErrorRatePercent: 5, minRequests: 20, windowMs: 60_000 } } }],
  })
  let next = config({ methods: ['GET'] })
  const gw = await startGateway(next, { defaultMetrics: false, random: mulberry32(7), load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const canary = (): { weight: number; source: string } => {
    const c = gw.gateway.status().routes[0]!.canary!
    return { weight: c.weight, source: c.weightSource }
  }
  v2.failCount = 1_000_000
  v2.failStatus = 500
  for (let i = 0; i < 200 && canary().source !== 'rollback'; i++) await httpRequest(`${gw.url}/payment/x`)
  t.strictSame(canary(), { weight: 0, source: 'rollback' }, 'rolled back')
  for (const change of [{ methods: ['GET', 'PATCH'] }, { host: 'shop.example', methods: ['GET', 'PATCH'] }, { name: 'payment', host: 'shop.example', methods: ['GET', 'PATCH'] }]) {
    next = config(change)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.strictSame(canary(), { weight: 0, source: 'rollback' }, `kept after ${JSON.stringify(change)}`)
  }
  const hits = v2.hits
  for (let i = 0; i < 20; i++) t.equal((await httpRequest(`${gw.url}/payment/x`, { headers: { host: 'shop.example' } })).status, 200)
  t.equal(v2.hits, hits, 'no request reaches the rolled-back canary')
})

// Two routes made of one by a reload (here: by a header each) would both take its canary: one weight, one window
// and one rollback for two routes, an operator's weight set on one moving the other's traffic. Neither takes it:
// each starts from the file.
t.test('a route split in two by a reload: neither takes the old route\'s canary', async (t) => {
  const [v1, v2] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' })])
  t.teardown(() => Promise.all([v1.close(), v2.close()]))
  const canarySettings = { pool: 'payment-v2', weight: 10 }
  const pools = { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [v2.url] } }
  let next: GatewayConfig = { pools, routes: [{ path: '/api', pool: 'payment-v1', methods: ['GET'], canary: canarySettings }] }
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const [only] = gw.gateway.status().routes
  gw.gateway.proxy.state.plans!.get(gw.gateway.proxy.state.table.routes[0]!)!.setCanaryWeight(0)
  t.equal(gw.gateway.status().routes[0]!.canary!.weightSource, 'operator', `set on ${only!.id}`)
  next = { pools, routes: ['a', 'b'].map((tenant) => ({ path: '/api', pool: 'payment-v1', methods: ['GET'], headers: { 'x-tenant': tenant }, canary: canarySettings })) }
  t.equal((await gw.gateway.reload()).result, 'success')
  const [a, b] = gw.gateway.proxy.state.table.routes.map((r) => gw.gateway.proxy.state.plans!.get(r)!)
  t.not(a!.canary, b!.canary, 'two canaries')
  t.strictSame([a!.canary!.decider.weight, b!.canary!.decider.weight], [10, 10], 'each from the file')
  a!.setCanaryWeight(80)
  t.equal(b!.canary!.decider.weight, 10, 'a weight set on one leaves the other')
})

// A route renamed in the reload that also adds a route for another host with the same canary settings on the same
// path: the renamed route, on the former route's host, keeps its rollback; the new one starts from the file. Both
// claimed it, so neither took it, and the rolled-back canary served again.
t.test('a renamed route keeps its rollback beside a new route for another host with the same canary', async (t) => {
  const [v1, v2] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' })])
  t.teardown(() => Promise.all([v1.close(), v2.close()]))
  const canarySettings = { pool: 'payment-v2', weight: 50, rollback: { maxErrorRatePercent: 5, minRequests: 20, windowMs: 60_000 } }
  const pools = { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [v2.url], retry: { attempts: 1 } } }
  let next: GatewayConfig = { pools, routes: [{ name: 'pay', host: 'a.example', path: '/pay', pool: 'payment-v1', canary: canarySettings }] }
  const gw = await startGateway(next, { defaultMetrics: false, random: mulberry32(7), load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const canaryOf = (name: string): { weight: number; source: string } => {
    const c = gw.gateway.status().routes.find((r) => r.name === name)!.canary!
    return { weight: c.weight, source: c.weightSource }
  }
  v2.failCount = 1_000_000
  v2.failStatus = 500
  for (let i = 0; i < 200 && canaryOf('pay').source !== 'rollback'; i++) await httpRequest(`${gw.url}/pay/x`, { headers: { host: 'a.example' } })
  t.strictSame(canaryOf('pay'), { weight: 0, source: 'rollback' }, 'rolled back')
  next = { pools, routes: [{ name: 'payments', host: 'a.example', path: '/pay', pool: 'payment-v1', canary: canarySettings }, { name: 'pay-b', host: 'b.example', path: '/pay', pool: 'payment-v1', canary: canarySettings }] }
  t.equal((await gw.gateway.reload()).result, 'success')
  t.strictSame(canaryOf('payments'), { weight: 0, source: 'rollback' }, 'the renamed route keeps it')
  t.strictSame(canaryOf('pay-b'), { weight: 50, source: 'file' }, 'the new one starts from the file')
})

// The plans a reload builds, without a gateway: pools v1 and v2, no timers, no events heard.
const clock: Clock = { now: () => 0, monotonicNow: () => 0, setTimeout: () => { throw new Error('no timers here') }, clearTimeout: () => {} }
const events: PlanEvents = { fallback () {}, readToPrimary () {}, weight () {}, mirror () {}, rollback () {} }
const canary = { pool: 'v2', weight: 50 }
/** The plans of a build of these routes (pools v1 and v2), a reload of `previous` when given. */
function build (routes: Record<string, unknown>[], previous?: Map<Route, RoutePlan>): Map<Route, RoutePlan> {
  const config = validateConfig({ log: { level: 'silent' }, pools: { v1: { targets: ['http://127.0.0.1:1'] }, v2: { targets: ['http://127.0.0.1:2'] } }, routes })
  return buildPlans(config, new RoutingTable(config.routes).routes, { secret: 's', clock, random: () => 0.5, events }, previous)
}
const plan = (plans: Map<Route, RoutePlan>, label: string): RoutePlan => [...plans].find(([r]) => r.label === label)![1]

// A reload that removes a route with a mirror but no canary and adds a canary route on its path builds its plans:
// only gone routes that had a canary can hand one on. Looked at as a former canary, the mirror-only route's missing
// canary threw and the reload failed.
t.test('canary-reload-gone-mirror-route', async (t) => {

  t.test('a gone route without a canary on the path of a new canary route: the reload builds', async (t) => {
    const before = build([{ name: 'shadowed', path: '/pay', pool: 'v1', mirror: { pool: 'v2' } }])
    const after = build([{ name: 'pay', path: '/pay', pool: 'v1', canary }], before)
    t.equal(plan(after, 'pay').canary?.decider.weight, 50, 'the new route\'s canary, from the file')
  })
})

// When two new routes would take a route's former canary, the one on the former route's host takes it: counted
// among claimants only. Another route on that host (here on another path) is no rival; counted as one, the
// renamed route found two on its host, took nothing, and its rolled-back canary came back at the file's weight.
t.test('canary-reload-host-tiebreak-claimants-only', async (t) => {

  t.test('the host tie-break counts only routes that claim the former canary', async (t) => {
    const before = build([
      { name: 'pay', host: 'a.example', path: '/pay', pool: 'v1', canary },
      { name: 'shop', host: 'a.example', path: '/shop', pool: 'v1' },
    ])
    const after = build([
      { name: 'payments', host: 'a.example', path: '/pay', pool: 'v1', canary },
      { name: 'pay-b', host: 'b.example', path: '/pay', pool: 'v1', canary },
      { name: 'shop', host: 'a.example', path: '/shop', pool: 'v1' },
    ], before)
    t.equal(plan(after, 'payments').canary, plan(before, 'pay').canary, 'the renamed route on the former host takes it')
    t.not(plan(after, 'pay-b').canary, plan(before, 'pay').canary, 'the new route for another host starts its own')
  })
})

// A route that keeps its label across a reload is no claimant of another route's former canary: beside it, a route
// renamed on the same host and path with the same canary settings takes its own former canary (and its rollback).
// Counted as a second claimant, the kept route made the tie-break find two routes on the host, and the renamed
// route's rolled-back canary came back at the file's weight.
t.test('canary-reload-kept-route-no-claim', async (t) => {

  t.test('a kept route does not contest a renamed route\'s former canary', async (t) => {
    const before = build([
      { name: 'kept', host: 'a.example', path: '/pay', methods: ['GET'], pool: 'v1', canary },
      { name: 'old', host: 'a.example', path: '/pay', methods: ['POST'], pool: 'v1', canary },
    ])
    const after = build([
      { name: 'kept', host: 'a.example', path: '/pay', methods: ['GET'], pool: 'v1', canary },
      { name: 'renamed', host: 'a.example', path: '/pay', methods: ['POST'], pool: 'v1', canary },
    ], before)
    t.equal(plan(after, 'kept').canary, plan(before, 'kept').canary, 'the kept route keeps its own')
    t.equal(plan(after, 'renamed').canary, plan(before, 'old').canary, 'the renamed route takes its former canary')
  })
})

// Two routes merged into one by a reload (same path, same canary settings, both gone): the new route cannot tell
// whose canary it continues, so it takes neither and starts from the file. Taking the first, it inherited one
// route's weight, window and rollback for traffic that was the other's too.
t.test('canary-reload-merged-routes-fresh', async (t) => {

  t.test('a route made of two gone routes takes neither canary', async (t) => {
    const before = build([
      { name: 'a', path: '/api', pool: 'v1', headers: { 'x-tenant': 'a' }, canary },
      { name: 'b', path: '/api', pool: 'v1', headers: { 'x-tenant': 'b' }, canary },
    ])
    const after = build([{ name: 'merged', path: '/api', pool: 'v1', canary }], before)
    const merged = plan(after, 'merged').canary
    t.not(merged, plan(before, 'a').canary)
    t.not(merged, plan(before, 'b').canary)
  })
})

// A route's former canary goes only to a new route on its path: a new route on another path with the same canary
// settings is no claimant. Counted as one, it made two claimants, neither on a host, and the route renamed on the
// former path lost its canary's rollback (it came back at the file's weight).
t.test('canary-reload-other-path-no-claim', async (t) => {

  t.test('a new route on another path does not contest a renamed route\'s former canary', async (t) => {
    const before = build([{ name: 'old', path: '/pay', pool: 'v1', canary }])
    const after = build([
      { name: 'renamed', path: '/pay', pool: 'v1', canary },
      { name: 'shop', path: '/shop', pool: 'v1', canary },
    ], before)
    t.equal(plan(after, 'renamed').canary, plan(before, 'old').canary, 'the renamed route takes its former canary')
    t.not(plan(after, 'shop').canary, plan(before, 'old').canary, 'the other path starts its own')
  })
})

// A route's former canary goes only to a new route with the same canary settings: a new route on the same host and
// path whose canary differs is no claimant. Counted as one, it made two claimants on the host, and the route renamed
// with the settings unchanged lost its canary's rollback (it came back at the file's weight).
t.test('canary-reload-other-settings-no-claim', async (t) => {

  t.test('a new route with other canary settings does not contest a renamed route\'s former canary', async (t) => {
    const before = build([{ name: 'old', host: 'a.example', path: '/pay', methods: ['GET'], pool: 'v1', canary }])
    const after = build([
      { name: 'renamed', host: 'a.example', path: '/pay', methods: ['GET'], pool: 'v1', canary },
      { name: 'writes', host: 'a.example', path: '/pay', methods: ['POST'], pool: 'v1', canary: { ...canary, weight: 5 } },
    ], before)
    t.equal(plan(after, 'renamed').canary, plan(before, 'old').canary, 'the renamed route takes its former canary')
  })
})
