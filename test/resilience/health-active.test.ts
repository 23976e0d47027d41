// Active health checks: probes, thresholds, traffic taken out and put back, backups probed, hung probes.
// The gateway runs on a manual clock: a probe round is the clock moving to the probes' due time, the probes
// going over real sockets, and the test waiting for their results to be recorded. Thresholds are exact.
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { HEALTH_USER_AGENT, type ActiveHealthChecker } from '../../src/health/active.ts'
import type { PoolRuntime } from '../../src/upstream/registry.ts'
import type { Target } from '../../src/upstream/target.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { call, gateway, recordProbes, runtime, trailingRun, upstreams } from './_util.ts'

// Long enough that undici's own (real-time) probe timeouts, set from timeoutMs, never fire during a test:
// only the manual clock decides when a probe has taken too long.
const INTERVAL = 10_000
const healthCheck = { path: '/health', intervalMs: INTERVAL, timeoutMs: INTERVAL / 2, healthyThreshold: 2, unhealthyThreshold: 3, expectStatus: ['200-399'], jitter: 0 }

interface Checked {
  gw: TestGateway
  clock: ManualClock
  rt: PoolRuntime
  health: ActiveHealthChecker
  /** The pool's target with this URL. */
  target (url: string): Target
}

/**
 * A gateway on a manual clock whose pool 'api' is health-checked. The random source is 0: every first probe
 * is due at once, and with jitter 0 every later one exactly INTERVAL after the previous result.
 */
async function checkedGateway (t: Test, config: GatewayConfig, closeFirst: readonly { close (): Promise<unknown> }[]): Promise<Checked> {
  const clock = new ManualClock()
  const gw = await gateway(t, config, closeFirst, { clock, random: () => 0 })
  const rt = runtime(gw, 'api')
  const health = rt.health
  if (health === undefined) throw new Error('pool api has no health checker')
  return { gw, clock, rt, health, target: (url) => rt.pool.targets.find((x) => x.url === url)! }
}

/** Moves the clock by `ms`, firing the probes that fall due, and waits until every target has a new result. */
async function probeRound (c: Checked, ms = INTERVAL): Promise<void> {
  const targets = c.rt.pool.targets
  const before = targets.map((x) => c.health.lastResult(x))
  c.clock.advance(ms)
  await waitFor(() => targets.every((x, i) => c.health.lastResult(x) !== before[i]))
}

t.test('probes name the gateway in their user-agent and run for backup targets too', async (t) => {
  const [u1, u2, b1] = await upstreams(t, 3)
  const probes = [u1!, u2!, b1!].map(recordProbes)
  const c = await checkedGateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url, { url: b1!.url, backup: true }], healthCheck } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!, b1!])
  t.same(c.clock.dueIn(), [0, 0, 0], 'one probe timer per target, backup included')
  await probeRound(c, 0)
  await probeRound(c)
  for (const p of probes) t.same(p.userAgents, [HEALTH_USER_AGENT, HEALTH_USER_AGENT], 'one probe per round, naming the gateway')
  t.match(HEALTH_USER_AGENT, /switchyard/i)
  // probes are not traffic: the backup got none
  t.equal(b1!.hits, 0)

  // a backup failing its probes is taken out as well, while the primaries carry on
  const pool = c.rt.pool
  const backup = c.target(b1!.url)
  b1!.unhealthy = true
  await probeRound(c)
  await probeRound(c)
  t.ok(pool.status(backup).healthy, 'still in after 2 failed probes')
  await probeRound(c)
  t.notOk(pool.status(backup).healthy, 'out on the 3rd')
  t.equal(pool.tier, 'primary')
  t.same(pool.available().map((x) => x.url).sort(), [u1!.url, u2!.url].sort())
  b1!.unhealthy = false
  await probeRound(c)
  t.notOk(pool.status(backup).healthy, 'still out after 1 good probe')
  await probeRound(c)
  t.ok(pool.status(backup).healthy, 'back on the 2nd')
})

t.test('unhealthyThreshold failed probes take a target out, healthyThreshold good ones put it back; traffic follows', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const probes = recordProbes(u1!)
  const c = await checkedGateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], healthCheck, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  const { gw, rt: { pool } } = c
  const target = c.target(u1!.url)
  const runsAtChange: { healthy: boolean; run: number }[] = []
  pool.on('status', (changed: Target, status) => {
    if (changed !== target) return
    runsAtChange.push({ healthy: status.healthy, run: trailingRun(probes.answers, status.healthy ? 200 : 503) })
  })
  await probeRound(c, 0)

  // both take traffic
  for (let i = 0; i < 4; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > 0 && u2!.hits > 0)

  u1!.unhealthy = true
  for (let i = 0; i < 3; i++) await probeRound(c)
  t.notOk(pool.status(target).healthy)
  t.same(runsAtChange, [{ healthy: false, run: 3 }], 'taken out exactly on the 3rd consecutive failed probe')
  t.same(c.health.lastResult(target), { ok: false, status: 503, at: c.clock.now() })
  t.same(pool.available().map((x) => x.url), [u2!.url])

  const before = u1!.hits
  for (let i = 0; i < 10; i++) {
    const r = await call(gw.url, '/x')
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
  }
  t.equal(u1!.hits, before, 'no traffic to the unhealthy target')

  u1!.unhealthy = false
  for (let i = 0; i < 2; i++) await probeRound(c)
  t.ok(pool.status(target).healthy)
  t.same(runsAtChange[1], { healthy: true, run: 2 }, 'put back exactly on the 2nd consecutive good probe')
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > before, 'traffic resumes to the recovered target')
  t.equal(runsAtChange.length, 2, 'one status change each way')
})

t.test('a refused target fails its probes, is taken out, and comes back after restore()', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const c = await checkedGateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], healthCheck, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  const { gw, rt: { pool } } = c
  const target = c.target(u1!.url)
  await probeRound(c, 0)

  await u1!.refuse()
  for (let i = 0; i < 2; i++) await probeRound(c)
  t.ok(pool.status(target).healthy, 'still in after 2 refused probes')
  await probeRound(c)
  t.notOk(pool.status(target).healthy, 'out on the 3rd')
  t.same(c.health.lastResult(target), { ok: false, error: 'ECONNREFUSED', at: c.clock.now() })
  t.same(pool.available().map((x) => x.url), [u2!.url])
  for (let i = 0; i < 6; i++) {
    const r = await call(gw.url, '/x')
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
  }
  const hitsBefore = u1!.hits
  await u1!.restore()
  for (let i = 0; i < 2; i++) await probeRound(c)
  t.ok(pool.status(target).healthy, 'back after 2 good probes')
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > hitsBefore, 'traffic resumes after restore')
})

t.test('without healthCheck, targets stay available and only passive detection takes one out', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const clock = new ManualClock()
  // random 0: retries after a refused connection go at once (no backoff timer to move)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], outlier: { consecutiveFailures: 2, baseEjectionMs: 10_000 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!], { clock, random: () => 0 })
  const rt = runtime(gw, 'api')
  t.equal(rt.health, undefined, 'the pool has no checker')
  // every timer the gateway sets is on this clock, and a checker arms one per target as soon as it starts
  // (see the first test): with none pending, no probe can ever run, however far the clock moves
  t.same(clock.dueIn(), [], 'no probe is scheduled')
  u1!.unhealthy = true
  clock.advance(100 * INTERVAL)
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.equal(u1!.healthChecks, 0, 'nothing probes')
  t.equal(u1!.hits, 3, 'a target whose /health says unhealthy still takes its share')
  t.equal(rt.pool.available().length, 2)

  // passive: a refused target fails real requests, which are retried elsewhere, and is ejected
  await u1!.refuse()
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  const target = rt.pool.targets.find((x) => x.url === u1!.url)!
  t.equal(rt.pool.status(target).ejectedUntil, clock.now() + 10_000, 'ejected by outlier detection')
  t.same(clock.dueIn(), [10_000], "the only timer is the ejection's end")
  t.ok(rt.pool.status(target).healthy, 'health status untouched')
})

/**
 * A real server whose /health can hang, answer any status, or send its status and then break its body: reset the
 * connection halfway, or stall (the shared helper's /health only does 200/503).
 */
async function healthServer () {
  const state: { hang: boolean; status: number; probes: number; body?: 'reset-mid-body' | 'stall' } = { hang: false, status: 200, probes: 0 }
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      state.probes++
      if (state.hang) return // never answers
      if (state.body !== undefined) {
        res.writeHead(state.status, { 'content-length': '100' }).write('x'.repeat(40))
        if (state.body === 'reset-mid-body') setTimeout(() => res.socket?.destroy(), 5)
        return
      }
      res.writeHead(state.status).end()
      return
    }
    res.writeHead(200, { 'x-upstream': 'custom' }).end('hi')
  })
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async (): Promise<void> => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await done
    },
  }
}

t.test('a probe that hangs past timeoutMs counts as a failure', async (t) => {
  const custom = await healthServer()
  const [v1] = await upstreams(t, 1, 'v')
  // timeoutMs = intervalMs keeps both targets' probes on the same beat: a hung probe ends one interval after it
  // started, and the next one starts one interval after that
  const c = await checkedGateway(t, {
    pools: { api: { targets: [custom.url, v1!.url], healthCheck: { ...healthCheck, timeoutMs: INTERVAL } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [v1!, custom])
  const { pool } = c.rt
  const target = c.target(custom.url)
  const other = c.target(v1!.url)
  await probeRound(c, 0)
  custom.state.hang = true
  const step = async (ms: number): Promise<void> => {
    const before = c.health.lastResult(other)
    c.clock.advance(ms)
    await waitFor(() => c.health.lastResult(other) !== before)
  }
  for (let hung = 1; hung <= 3; hung++) {
    // the probe goes out and hangs
    await step(INTERVAL)
    await waitFor(() => custom.state.probes === 1 + hung)
    const pending = c.health.lastResult(target)
    // one ms short of timeoutMs: still waiting
    c.clock.advance(INTERVAL - 1)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(c.health.lastResult(target), pending, `hung probe ${hung}: no result before timeoutMs`)
    await step(1)
    await waitFor(() => c.health.lastResult(target) !== pending)
    t.same(c.health.lastResult(target), { ok: false, error: 'timeout', at: c.clock.now() }, `hung probe ${hung}: a timeout at timeoutMs`)
    t.equal(pool.status(target).healthy, hung < 3, hung < 3 ? 'still in' : 'out on the 3rd hung probe')
  }
  t.ok(pool.status(other).healthy, 'the answering target is untouched')
  for (let i = 0; i < 4; i++) t.equal((await call(c.gw.url, '/x')).upstream, 'v1')
  custom.state.hang = false
  await probeRound(c)
  await probeRound(c)
  t.ok(pool.status(target).healthy, 'back after 2 good probes')
})

t.test("expectStatus ['200-399'] is a range: a 302 is healthy, a 404 is not", async (t) => {
  const custom = await healthServer()
  const [v1] = await upstreams(t, 1, 'v')
  const c = await checkedGateway(t, {
    pools: { api: { targets: [custom.url, v1!.url], healthCheck } },
    routes: [{ path: '/', pool: 'api' }],
  }, [v1!, custom])
  const { pool } = c.rt
  const target = c.target(custom.url)
  custom.state.status = 302
  await probeRound(c, 0)
  for (let i = 0; i < 3; i++) await probeRound(c)
  t.equal(custom.state.probes, 4)
  t.same(c.health.lastResult(target), { ok: true, status: 302, at: c.clock.now() }, '302 is within [200, 399]')
  t.ok(pool.status(target).healthy)
  custom.state.status = 404
  for (let i = 0; i < 2; i++) await probeRound(c)
  t.same(c.health.lastResult(target), { ok: false, status: 404, at: c.clock.now() }, '404 is outside [200, 399]')
  t.ok(pool.status(target).healthy, 'still in after 2 failed probes')
  await probeRound(c)
  t.notOk(pool.status(target).healthy, 'taken out on the 3rd 404')
})

t.test('once the status is in, it is the verdict: a body reset or stalled after it fails nothing', async (t) => {
  const custom = await healthServer()
  const [v1] = await upstreams(t, 1, 'v')
  const c = await checkedGateway(t, {
    pools: { api: { targets: [custom.url, v1!.url], healthCheck: { ...healthCheck, unhealthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [v1!, custom])
  const { pool } = c.rt
  const target = c.target(custom.url)
  await probeRound(c, 0)

  custom.state.body = 'reset-mid-body'
  await probeRound(c)
  t.same(c.health.lastResult(target), { ok: true, status: 200, at: c.clock.now() }, 'reset mid-body: the 200 stands')
  t.ok(pool.status(target).healthy)

  custom.state.body = 'stall'
  const before = c.health.lastResult(target)
  c.clock.advance(INTERVAL)
  await waitFor(() => custom.state.probes === 3)
  // the status has arrived; the body never ends: the probe's deadline ends it with the status
  await new Promise((resolve) => setTimeout(resolve, 20))
  c.clock.advance(healthCheck.timeoutMs)
  await waitFor(() => c.health.lastResult(target) !== before)
  t.same(c.health.lastResult(target), { ok: true, status: 200, at: c.clock.now() }, 'a stalled body at timeoutMs: the 200 stands')
  t.ok(pool.status(target).healthy)

  custom.state.body = 'reset-mid-body'
  custom.state.status = 503
  // the next probe is due one interval after the last result
  c.clock.advance(INTERVAL)
  await waitFor(() => c.health.lastResult(target)?.status === 503)
  t.same(c.health.lastResult(target), { ok: false, status: 503, at: c.clock.now() }, 'a 503 is a failure whatever its body does')
  t.notOk(pool.status(target).healthy)
})
