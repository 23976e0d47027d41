// A shadow copy that the mirror upstream received and never answered is ended by its deadline (the mirror pool's
// requestMs) and counted as what it is: a timeout of the shadow target (switchyard_upstream_attempts_total
// {outcome="timeout"}, a failure in /status), `failed` in switchyard_mirror_requests_total. Not a reset: an operator
// reading the mirror pool's attempts must see a slow shadow service, not a dropped connection. The copy counts in
// its target's queue (connections.maxQueuedPerTarget) until undici starts it, once: never below zero. A copy whose
// answer goes silent mid-body is cut at the mirror pool's timeouts.idleMs (README: the longest silence while the
// upstream streams the body), as the pool's own requests are, not held (and its maxConcurrent slot with it) until
// the requestMs deadline.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { ScriptedUpstream } from '../reliability/scripted-upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('a copy the shadow never answers times out at the mirror pool deadline', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  shadow.mode = 'hang'
  const clock = new ManualClock()
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], timeouts: { requestMs: 500 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { clock, defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())

  t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200, "the client's answer never waits for the mirror")
  await waitFor(() => shadow.requests.length === 1)
  clock.advance(500)
  await waitFor(() => plan.mirrorsInFlight === 0)
  const s = await series()
  const attempts = (outcome: string): number | undefined => s[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
  t.equal(attempts('timeout'), 1, 'a timeout of the shadow target')
  t.equal(attempts('reset'), undefined, 'not a reset')
  t.equal(s[key('switchyard_mirror_requests_total', { route: 'api', outcome: 'failed' })], 1)
  t.equal(target.failures, 1)
  t.equal(target.queued, 0, "the copy left the target's queue once, when undici started it")
})

t.test('a copy whose answer goes silent mid-body is cut at the mirror pool\'s idleMs', async (t) => {
  const main = await upstream(t, 'main')
  // 10 of the 100 bytes announced, then silence
  const shadow = await ScriptedUpstream.start((socket) => { socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789') })
  t.teardown(() => shadow.close())
  // never advanced: the mirror pool's requestMs deadline is not what ends the copy
  const clock = new ManualClock()
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [shadow.url], timeouts: { idleMs: 1000 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { clock, defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!

  t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200)
  // idleMs on undici's coarse timers: cut within about 2 s; the pool's requestMs (30 s) would be far later
  await waitFor(() => plan.mirrorsInFlight === 0, 10_000)
  const s = seriesOf(await gw.gateway.metrics!.render())
  t.equal(s[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'timeout' })], 1, 'a timeout of the shadow target')
  t.equal(s[key('switchyard_mirror_requests_total', { route: 'api', outcome: 'failed' })], 1)
})
