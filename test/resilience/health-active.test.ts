// Active health checks: probes, thresholds, traffic taken out and put back, backups probed, hung probes.
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import type { Target } from '../../src/upstream/target.ts'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, recordProbes, runtime, sleep, trailingRun, upstreams } from './_util.ts'

const healthCheck = { path: '/health', intervalMs: 100, timeoutMs: 80, healthyThreshold: 2, unhealthyThreshold: 3, expectStatus: ['200-399'] }

t.test('probes name the gateway in their user-agent and run for backup targets too', async (t) => {
  const [u1, u2, b1] = await upstreams(t, 3)
  const probes = [u1!, u2!, b1!].map(recordProbes)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url, { url: b1!.url, backup: true }], healthCheck } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!, b1!])
  await waitFor(() => [u1!, u2!, b1!].every((u) => u.healthChecks >= 2))
  for (const p of probes) {
    t.ok(p.userAgents.length >= 2)
    for (const ua of p.userAgents) t.match(ua, /switchyard/i, 'probe user-agent names the gateway')
  }
  // probes are not traffic: the backup got none
  t.equal(b1!.hits, 0)

  // a backup failing its probes is taken out as well, while the primaries carry on
  const pool = runtime(gw, 'api').pool
  const backup = pool.targets.find((x) => x.backup)!
  b1!.unhealthy = true
  await waitFor(() => !pool.status(backup).healthy)
  t.equal(pool.tier, 'primary')
  t.same(pool.available().map((x) => x.url).sort(), [u1!.url, u2!.url].sort())
  b1!.unhealthy = false
  await waitFor(() => pool.status(backup).healthy)
})

t.test('unhealthyThreshold failed probes take a target out, healthyThreshold good ones put it back; traffic follows', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const probes = recordProbes(u1!)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], healthCheck, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  const pool = runtime(gw, 'api').pool
  const target = pool.targets.find((x) => x.url === u1!.url)!
  const runsAtChange: { healthy: boolean; run: number }[] = []
  pool.on('status', (changed: Target, status) => {
    if (changed !== target) return
    runsAtChange.push({ healthy: status.healthy, run: trailingRun(probes.answers, status.healthy ? 200 : 503) })
  })
  await waitFor(() => u1!.healthChecks >= 1)

  // both take traffic
  for (let i = 0; i < 4; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > 0 && u2!.hits > 0)

  u1!.unhealthy = true
  await waitFor(() => !pool.status(target).healthy)
  t.same(runsAtChange[0], { healthy: false, run: 3 }, 'taken out exactly on the 3rd consecutive failed probe')
  t.same(pool.available().map((x) => x.url), [u2!.url])

  const before = u1!.hits
  for (let i = 0; i < 10; i++) {
    const r = await call(gw.url, '/x')
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
  }
  t.equal(u1!.hits, before, 'no traffic to the unhealthy target')

  u1!.unhealthy = false
  await waitFor(() => pool.status(target).healthy)
  t.same(runsAtChange[1], { healthy: true, run: 2 }, 'put back exactly on the 2nd consecutive good probe')
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > before, 'traffic resumes to the recovered target')
  t.equal(runsAtChange.length, 2, 'one status change each way')
})

t.test('a refused target fails its probes, is taken out, and comes back after restore()', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], healthCheck, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  const pool = runtime(gw, 'api').pool
  const target = pool.targets.find((x) => x.url === u1!.url)!
  await waitFor(() => u1!.healthChecks >= 1)

  await u1!.refuse()
  await waitFor(() => !pool.status(target).healthy)
  t.same(pool.available().map((x) => x.url), [u2!.url])
  for (let i = 0; i < 6; i++) {
    const r = await call(gw.url, '/x')
    t.equal(r.status, 200)
    t.equal(r.upstream, 'u2')
  }
  const hitsBefore = u1!.hits
  await u1!.restore()
  await waitFor(() => pool.status(target).healthy)
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.ok(u1!.hits > hitsBefore, 'traffic resumes after restore')
})

t.test('without healthCheck, targets stay available and only passive detection takes one out', async (t) => {
  const [u1, u2] = await upstreams(t, 2)
  const gw = await gateway(t, {
    pools: { api: { targets: [u1!.url, u2!.url], outlier: { consecutiveFailures: 2, baseEjectionMs: 10_000 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [u1!, u2!])
  const rt = runtime(gw, 'api')
  t.equal(rt.health, undefined)
  u1!.unhealthy = true
  // a negative: give a would-be checker a few intervals' worth of time to act
  await sleep(300)
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  t.equal(u1!.healthChecks, 0, 'nothing probes')
  t.equal(u1!.hits, 3, 'a target whose /health says unhealthy still takes its share')
  t.equal(rt.pool.available().length, 2)

  // passive: a refused target fails real requests, which are retried elsewhere, and is ejected
  await u1!.refuse()
  for (let i = 0; i < 6; i++) t.equal((await call(gw.url, '/x')).status, 200)
  const target = rt.pool.targets.find((x) => x.url === u1!.url)!
  t.ok(rt.pool.status(target).ejectedUntil > Date.now(), 'ejected by outlier detection')
  t.ok(rt.pool.status(target).healthy, 'health status untouched')
})

/** A real server whose /health can hang or answer any status (the shared helper's /health only does 200/503). */
async function healthServer () {
  const state = { hang: false, status: 200, probes: 0 }
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      state.probes++
      if (state.hang) return // never answers
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
  const gw = await gateway(t, {
    pools: { api: { targets: [custom.url, v1!.url], healthCheck: { ...healthCheck, intervalMs: 150, timeoutMs: 100 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [v1!, custom])
  const pool = runtime(gw, 'api').pool
  const target = pool.targets.find((x) => x.url === custom.url)!
  await waitFor(() => custom.state.probes >= 1)
  custom.state.hang = true
  const probesAtHang = custom.state.probes
  await waitFor(() => !pool.status(target).healthy)
  t.ok(custom.state.probes - probesAtHang >= 3, `taken out after ${custom.state.probes - probesAtHang} hung probes (threshold 3)`)
  for (let i = 0; i < 4; i++) t.equal((await call(gw.url, '/x')).upstream, 'v1')
  custom.state.hang = false
  await waitFor(() => pool.status(target).healthy)
})

t.test("expectStatus ['200-399'] is a range: a 302 is healthy, a 404 is not", async (t) => {
  const custom = await healthServer()
  const [v1] = await upstreams(t, 1, 'v')
  const gw = await gateway(t, {
    pools: { api: { targets: [custom.url, v1!.url], healthCheck } },
    routes: [{ path: '/', pool: 'api' }],
  }, [v1!, custom])
  const target = runtime(gw, 'api').pool.targets.find((x) => x.url === custom.url)!
  custom.state.status = 302
  await waitFor(() => custom.state.probes >= 4)
  t.ok(runtime(gw, 'api').pool.status(target).healthy, '302 is within [200, 399]')
  custom.state.status = 404
  await waitFor(() => !runtime(gw, 'api').pool.status(target).healthy)
  t.pass('404 is outside [200, 399]: taken out')
})
