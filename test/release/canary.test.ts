// Weighted canary between two pools on one route: weight, stickiness, force header, operator control, automatic
// rollback; header-matched routes; shadow traffic to a mirror pool that never touches the client's answer.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { mulberry32 } from '../unit/prng.ts'
import { httpRequest } from '../proxy/http.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function setup (t: Tap, canary: { weight: number } & Record<string, unknown>, extra: { mirror?: Record<string, unknown> } = {}) {
  const [v1, v2, shadow] = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' }), TestUpstream.start({ name: 'shadow' })])
  t.teardown(() => Promise.all([v1.close(), v2.close(), shadow.close()]))
  const config: GatewayConfig = {
    pools: { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [v2.url], retry: { attempts: 1 } }, 'payment-shadow': { targets: [shadow.url], timeouts: { requestMs: 1000 } } },
    routes: [
      { name: 'payment', path: '/payment', pool: 'payment-v1', canary: { pool: 'payment-v2', ...canary }, ...(extra.mirror ? { mirror: { pool: 'payment-shadow', ...extra.mirror } } : {}) },
      { path: '/member', pool: 'payment-v1' },
      { path: '/member', pool: 'payment-v2', headers: { 'X-Beta': 'yes' } },
    ],
  }
  const start = async (): Promise<TestGateway & { admin: string }> => {
    const gw = await startGateway(config, { defaultMetrics: false, random: mulberry32(42) })
    t.teardown(() => gw.close())
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    return Object.assign(gw, { admin })
  }
  return { v1, v2, shadow, start }
}

const version = async (url: string, headers: Record<string, string> = {}): Promise<string> => (await httpRequest(url, { headers })).echo().name
const setWeight = (admin: string, weight: unknown): Promise<Response> => fetch(`${admin}/routes/payment/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }) })

t.test('weight 10: about 10% of requests reach the canary; 0 and 100 are exact', async (t) => {
  const { start } = await setup(t, { weight: 10 })
  const gw = await start()
  const N = 2000 // 10,000 draws are in test/unit/release-canary.test.ts (release-canary-split); here the same split through real requests
  let canary = 0
  for (let i = 0; i < N; i++) if (await version(`${gw.url}/payment/x`) === 'v2') canary++
  t.ok(Math.abs(canary / N - 0.1) <= 0.015, `${canary} of ${N} on the canary`)
  for (const [weight, want] of [[0, 'v1'], [100, 'v2']] as const) {
    t.equal((await setWeight(gw.admin, weight)).status, 200)
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) seen.add(await version(`${gw.url}/payment/x`))
    t.strictSame([...seen], [want], `weight ${weight}: every request on ${want}`)
  }
})

t.test('stickyBy header: a key keeps its version; raising the weight only moves keys from stable to canary; two replicas agree', async (t) => {
  const { start } = await setup(t, { weight: 10, stickyBy: 'header:x-user-id' })
  const a = await start()
  const b = await start()
  const users = Array.from({ length: 60 }, (_, i) => `user-${i}`)
  const before = new Map<string, string>()
  for (const u of users) {
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) seen.add(await version(`${a.url}/payment/x`, { 'x-user-id': u }))
    t.equal(seen.size, 1, `${u} stays on one version`)
    before.set(u, [...seen][0]!)
    t.equal(await version(`${b.url}/payment/x`, { 'x-user-id': u }), before.get(u), `${u}: the other replica agrees`)
  }
  t.equal((await setWeight(a.admin, 50)).status, 200)
  let moved = 0
  for (const u of users) {
    const now = await version(`${a.url}/payment/x`, { 'x-user-id': u })
    if (before.get(u) === 'v2') t.equal(now, 'v2', `${u} was on the canary and stays`)
    else if (now === 'v2') moved++
  }
  t.ok(moved > 0, `${moved} users moved stable → canary, none back`)
})

t.test('force header: x-canary: always reaches the canary even at weight 0; never keeps a request off it at 100', async (t) => {
  const { start } = await setup(t, { weight: 0, force: { header: 'x-canary', values: ['always'] } })
  const gw = await start()
  t.equal(await version(`${gw.url}/payment/x`, { 'x-canary': 'always' }), 'v2')
  t.equal(await version(`${gw.url}/payment/x`), 'v1')
  await setWeight(gw.admin, 100)
  t.equal(await version(`${gw.url}/payment/x`, { 'x-canary': 'never' }), 'v1')
})

// Header names are case-insensitive (RFC 9110 5.1) and Node gives them lower-cased: a force header written in the
// config as it is usually spelled in docs (X-Canary) must force as x-canary does, not be silently never matched.
t.test('a force header written with capitals in the config forces the canary', async (t) => {
  const { start } = await setup(t, { weight: 0, force: { header: 'X-Canary', values: ['always'] } })
  const gw = await start()
  t.equal(await version(`${gw.url}/payment/x`, { 'x-canary': 'always' }), 'v2')
  t.equal(await version(`${gw.url}/payment/x`, { 'X-CANARY': 'always' }), 'v2', 'however the client spells it')
  t.equal(await version(`${gw.url}/payment/x`), 'v1')
})

t.test('a canary answering 500 is rolled back after minRequests; after that none reach it and stable serves all', async (t) => {
  const { start, v2 } = await setup(t, { weight: 50, rollback: { maxErrorRatePercent: 5, minRequests: 20, windowMs: 60_000 } })
  v2.failCount = 1_000_000
  v2.failStatus = 500
  const gw = await start()
  let failed = 0
  for (let i = 0; i < 200; i++) if ((await httpRequest(`${gw.url}/payment/x`)).status >= 500) failed++
  const canary = gw.gateway.status().routes.find((r) => r.name === 'payment')!.canary!
  t.equal(canary.weight, 0, 'rolled back')
  t.equal(canary.weightSource, 'rollback')
  t.ok(failed >= 20 && failed <= 30, `${failed} failed: about minRequests (20), each a canary request before the rollback`)
  const hits = v2.hits
  for (let i = 0; i < 50; i++) t.equal((await httpRequest(`${gw.url}/payment/x`)).status, 200)
  t.equal(v2.hits, hits, 'zero requests reach the canary after the rollback')
  t.equal(gw.gateway.events.list().filter((e) => e.kind === 'canary' && /rolled back/.test(e.message)).length, 1, 'one rollback event')
  t.match(await gw.gateway.metrics!.render(), /switchyard_canary_rollbacks_total\{route="payment"\} 1/)
  // it stays at 0 until an operator (or a reload) sets a weight again
  t.equal((await setWeight(gw.admin, 10)).status, 200)
  t.equal(gw.gateway.status().routes.find((r) => r.name === 'payment')!.canary!.weightSource, 'operator')
})

t.test('operator weight: 0-100 only, the bearer token applies, an unknown route is a 404', async (t) => {
  const { start } = await setup(t, { weight: 10 })
  const gw = await start()
  for (const weight of [-1, 101, 'ten', null]) t.equal((await setWeight(gw.admin, weight)).status, 400, JSON.stringify(weight))
  const res = await fetch(`${gw.admin}/routes/nope/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"weight":5}' })
  t.equal(res.status, 404)
  t.equal(((await res.json()) as { error: string }).error, 'unknown_route')
  t.equal(gw.gateway.status().routes.find((r) => r.name === 'payment')!.canary!.weight, 10, 'nothing changed')
})

// An operator's weight is a change of what the route serves: it goes to the event feed (and the log, as every feed
// event does), so whoever reads /events sees who moved the canary and when, as they see a rollback.
t.test('an operator weight is recorded in the event feed, once per change', async (t) => {
  const { start } = await setup(t, { weight: 10 })
  const gw = await start()
  const canaryEvents = (): number => gw.gateway.events.list().filter((e) => e.kind === 'canary' && e.route === 'payment').length
  t.equal(canaryEvents(), 0)
  t.equal((await setWeight(gw.admin, 30)).status, 200)
  t.equal(canaryEvents(), 1, 'the operator weight')
  t.equal((await setWeight(gw.admin, 101)).status, 400)
  t.equal(canaryEvents(), 1, 'a refused weight records nothing')
})

t.test('a route narrowed by a header wins over the same prefix without it', async (t) => {
  const { start } = await setup(t, { weight: 0 })
  const gw = await start()
  t.equal(await version(`${gw.url}/member/1`, { 'x-beta': 'yes' }), 'v2')
  t.equal(await version(`${gw.url}/member/1`, { 'x-beta': 'no' }), 'v1')
  t.equal(await version(`${gw.url}/member/1`), 'v1')
})

t.test('a mirror that hangs changes nothing for the client; its copies carry x-switchyard-mirror and never exceed maxConcurrent', async (t) => {
  const { start, shadow } = await setup(t, { weight: 0 }, { mirror: { percent: 100, maxConcurrent: 4 } })
  shadow.mode = 'hang'
  let open = 0
  let most = 0
  shadow.server.on('request', (req) => {
    open++
    most = Math.max(most, open)
    req.socket.once('close', () => { open-- })
  })
  const gw = await start()
  const started = performance.now()
  const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => httpRequest(`${gw.url}/payment/${i}`).then((r) => r.status)))
  const ms = performance.now() - started
  t.strictSame([...new Set(statuses)], [200], 'every client answer as without a mirror')
  t.ok(ms < 5000, `40 requests answered in ${ms.toFixed(0)} ms while the mirror hangs`)
  await waitFor(() => open > 0)
  t.ok(most <= 4, `the mirror had at most ${most} requests at once (maxConcurrent 4)`)
  const route = gw.gateway.status().routes.find((r) => r.name === 'payment')!
  t.ok(route.mirror!.inFlight <= 4)
  const metrics = await gw.gateway.metrics!.render()
  t.match(metrics, /switchyard_mirror_requests_total\{route="payment",outcome="skipped_concurrency"\} 3[0-9]/, 'the rest skipped and counted')
})

t.test('mirrored requests carry x-switchyard-mirror: 1 and the buffered body', async (t) => {
  const { start, shadow } = await setup(t, { weight: 0 }, { mirror: { percent: 100, maxConcurrent: 4 } })
  const gw = await start()
  const res = await httpRequest(`${gw.url}/payment/pay`, { method: 'PUT', body: 'hello' })
  t.equal(res.status, 200)
  t.equal(res.headers['x-switchyard-mirror'], undefined, 'nothing of the mirror reaches the client')
  await waitFor(() => shadow.requests.length === 1)
  t.equal(shadow.requests[0]!.headers['x-switchyard-mirror'], '1')
  t.equal(shadow.requests[0]!.bodyBytes, 5)
})

// A request's answer is judged against the build its version was decided for: one pipelined behind a slow request,
// decided on its turn after the weight was raised from 0, went to the new build and its failure is the new build's.
// Judged by its arrival, before the raise, it was dropped as the old build's and the failing canary never rolled back.
t.test('a request decided after the weight was raised from 0 is judged with the new build, whenever it came in', async (t) => {
  const [slow, v1, v2] = await Promise.all([TestUpstream.start({ name: 'slow' }), TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' })])
  t.teardown(() => Promise.all([slow.close(), v1.close(), v2.close()]))
  slow.delayMs = 300
  v2.failCount = 1_000_000
  v2.failStatus = 500
  const gw = await startGateway({
    pools: { slow: { targets: [slow.url] }, v1: { targets: [v1.url] }, v2: { targets: [v2.url], retry: { attempts: 1 } } },
    routes: [{ path: '/slow', pool: 'slow' }, { name: 'pay', path: '/pay', pool: 'v1', canary: { pool: 'v2', weight: 0, rollback: { maxErrorRatePercent: 0, minRequests: 1, windowMs: 60_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /pay/x HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => slow.hits === 1) // the second waits its turn, undecided
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  plan.setCanaryWeight(100)
  await waitFor(() => [...c.received().matchAll(/HTTP\/1\.1 \d{3}/g)].length === 2)
  t.equal(v2.hits, 1, 'sent to the raised canary')
  t.strictSame(plan.canary!.decider.stats().canary, { requests: 1, errors: 1 }, 'its failure counted')
  t.equal(plan.canary!.decider.weightSource, 'rollback', 'and the canary rolled back')
})

// A request sent to the canary before an operator took it to 0 and raised it again went to the build that was taken
// off; its 5xx, arriving after the raise, must not count against the new build (whose window starts empty) nor roll
// it back. Pins that the proxy hands record() the epoch read at the decision, not the one current when it ends.
t.test('canary-late-answer-old-build', async (t) => {
  t.test('a 5xx of a request decided before the canary was raised from 0 is not the new build\'s', async (t) => {
    const v1 = await TestUpstream.start({ name: 'v1' })
    // the old canary build: holds each answer until the test lets it go
    const held: ServerResponse[] = []
    let arrived: () => void = () => {}
    const heldOne = new Promise<void>((resolve) => { arrived = resolve })
    const old = createServer((_req, res) => { held.push(res); arrived() })
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve))
    t.teardown(async () => {
      for (const res of held) res.destroy()
      await Promise.all([v1.close(), new Promise((resolve) => old.close(resolve))])
    })
    const config: GatewayConfig = {
      pools: { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [`http://127.0.0.1:${(old.address() as AddressInfo).port}`], retry: { attempts: 1 } } },
      routes: [{ name: 'payment', path: '/payment', pool: 'payment-v1', canary: { pool: 'payment-v2', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests: 1, windowMs: 60_000 } } }],
    }
    const gw = await startGateway(config, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const setWeight = async (weight: number): Promise<number> => (await fetch(`${admin}/routes/payment/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }) })).status
    const canary = () => gw.gateway.status().routes.find((r) => r.name === 'payment')!.canary!

    const late = httpRequest(`${gw.url}/payment/x`)
    await heldOne
    t.equal(await setWeight(0), 200)
    t.equal(await setWeight(100), 200, 'raised from 0: another build')
    held[0]!.writeHead(500).end()
    t.equal((await late).status, 500)
    t.same(canary().window.canary, { requests: 0, errors: 0 }, 'not counted against the new build')
    t.strictSame({ weight: canary().weight, source: canary().weightSource }, { weight: 100, source: 'operator' }, 'not rolled back')
  })
})
