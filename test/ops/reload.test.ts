// Hot reload from outside: 20 reloads and 5 rejected ones under continuous keep-alive load with no failed
// request; routing follows each reload; an unchanged pool keeps its runtime, its Target objects and its upstream
// connections; a removed target drains then closes; the CLI reloads when its file changes and on SIGHUP.
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { failures, Load, rate, tally } from '../helpers/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]


async function upstreams (t: Tap, ...names: string[]): Promise<TestUpstream[]> {
  const list = await Promise.all(names.map((name) => TestUpstream.start({ name })))
  t.teardown(() => Promise.all(list.map((u) => u.close())))
  return list
}

/** Counts the TCP connections an upstream accepts, and how many are open now. */
function connections (u: TestUpstream): { accepted: () => number; open: () => number } {
  let accepted = 0
  let open = 0
  u.server.on('connection', (socket) => {
    accepted++
    open++
    socket.once('close', () => { open-- })
  })
  return { accepted: () => accepted, open: () => open }
}

/** Who answers a GET (the upstream's name), or the gateway's error code. */
async function whoAnswers (base: string, path: string): Promise<string> {
  const res = await fetch(base + path)
  const upstream = res.headers.get('x-upstream')
  const body = await res.text()
  return upstream ?? (JSON.parse(body) as { error: string }).error
}

/** A: /svc and /only-a on pool blue; B: /svc and /only-b on pool green. Pool stable (/stable) is in both, unchanged. */
function configs (blue: TestUpstream, green: TestUpstream, stable: TestUpstream): { A: GatewayConfig; B: GatewayConfig } {
  const stablePool = { targets: [stable.url], balancer: 'least-connections' as const }
  return {
    A: {
      pools: { blue: { targets: [blue.url] }, stable: stablePool },
      routes: [{ name: 'svc', path: '/svc', pool: 'blue' }, { path: '/only-a', pool: 'blue' }, { path: '/stable', pool: 'stable' }],
    },
    B: {
      pools: { green: { targets: [green.url] }, stable: stablePool },
      routes: [{ name: 'svc', path: '/svc', pool: 'green' }, { path: '/only-b', pool: 'green' }, { path: '/stable', pool: 'stable' }],
    },
  }
}

t.test('20 reloads and 5 rejected ones under continuous load: no failed request, routing follows each, unchanged pools keep targets and connections', async (t) => {
  const [blue, green, stable] = await upstreams(t, 'blue', 'green', 'stable')
  const stableConnections = connections(stable)
  const { A, B } = configs(blue, green, stable)
  const dir = t.testdir()
  const file = join(dir, 'routes.config.json')
  writeConfig(file, A)
  const gw = await startGateway(A, { configFile: file, defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const reload = async (): Promise<{ status: number; body: Record<string, unknown>; at: number }> => {
    const res = await fetch(`${admin}/reload`, { method: 'POST' })
    return { status: res.status, body: await res.json() as Record<string, unknown>, at: Date.now() }
  }

  // three loops on /svc, one on /stable (one loop: one connection to the stable upstream)
  const load = Load.start({ url: gw.url, concurrency: 6, durationMs: 20_000, pauseMs: 1, path: (loop, seq) => (loop === 3 ? `/stable/${seq}` : `/svc/${seq}`) })
  t.teardown(() => load.stop())
  await waitFor(() => load.records.filter((r) => r.path.startsWith('/stable')).length >= 20)
  const stableRuntime = gw.gateway.pools().get('stable')!
  const stableTarget = stableRuntime.pool.targets[0]!
  const acceptedBefore = stableConnections.accepted()
  t.equal(acceptedBefore, 1, 'the stable upstream has one connection from the gateway')

  const invalid = [
    '{"pools": ',
    JSON.stringify({ ...A, routes: [{ path: '/svc', pool: 'nowhere' }] }),
    JSON.stringify({ ...A, pools: { ...A.pools, blue: { targets: [] } } }),
    JSON.stringify({ ...A, server: { port: 70000 } }),
    JSON.stringify({ ...A, pools: { ...A.pools, blue: { targets: [blue.url], balancer: 'nope' } } }),
  ]
  const switches: Array<{ at: number; expect: string }> = []
  let rejected = 0
  for (let i = 0; i < 20; i++) {
    const config = i % 2 === 0 ? B : A
    const expect = config === B ? 'green' : 'blue'
    writeConfig(file, config)
    const res = await reload()
    t.equal(res.status, 200, `reload ${i + 1}`)
    t.equal(res.body.result, 'success')
    switches.push({ at: res.at, expect })
    await waitFor(async () => (await whoAnswers(gw.url, '/svc')) === expect, 1000)
    await new Promise((resolve) => setTimeout(resolve, 25)) // some load on each config
    t.equal(await whoAnswers(gw.url, expect === 'green' ? '/only-b' : '/only-a'), expect)
    t.equal(await whoAnswers(gw.url, expect === 'green' ? '/only-a' : '/only-b'), 'no_route', 'the other config\'s route is gone')

    if (i === 9) {
      const same = await reload()
      t.equal(same.status, 200)
      t.equal(same.body.result, 'unchanged', 'an identical reload is unchanged')
      t.equal(same.body.hash, gw.gateway.status().configHash)
    }
    if (i % 4 === 2) {
      const hash = gw.gateway.status().configHash
      writeFileSync(file, invalid[rejected++]!)
      const bad = await reload()
      t.equal(bad.status, 422, `rejected reload ${rejected}`)
      t.equal(bad.body.error, 'invalid_config')
      t.ok(Array.isArray(bad.body.problems) && (bad.body.problems as unknown[]).length > 0, 'with its problems')
      t.equal(gw.gateway.status().configHash, hash, 'the running config stays')
      t.equal(await whoAnswers(gw.url, '/svc'), expect, 'and routing with it')
    }
  }
  t.equal(rejected, 5)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const records = await load.stop()

  t.comment(`${records.length} requests at ${rate(records).toFixed(0)} req/s: ${JSON.stringify(tally(records))}`)
  t.comment(`${rate(records).toFixed(0)} req/s (the load aims well above 200; a rate is a report, not a timed assertion)`)
  t.strictSame(failures(records), [], 'no failed request')
  // a request sent after a reload's answer arrived sees the new routes (the swap happens before the answer)
  const stale = records.filter((r) => r.path.startsWith('/svc') && r.upstream !== undefined).filter((r) => {
    const current = switches.findLast((s) => s.at < r.startedAt)
    const next = switches.find((s) => s.at >= r.startedAt)
    return current !== undefined && (next === undefined || r.endedAt < next.at - 50) && r.upstream !== current.expect
  })
  t.strictSame(stale.map((r) => r.id), [], 'no request started after a reload went to the old pool')

  t.equal(gw.gateway.pools().get('stable'), stableRuntime, 'the unchanged pool kept its runtime')
  t.equal(gw.gateway.pools().get('stable')!.pool.targets[0], stableTarget, 'and its Target object')
  t.equal(stableConnections.accepted() - acceptedBefore, 0, 'and its upstream connection: no new TCP connection')
  t.strictSame([...gw.gateway.pools().keys()].sort(), ['blue', 'stable'], 'the retired pool is gone (the 20th reload went back to A)')
})

t.test('a removed target drains: its in-flight slow request completes, then it closes', async (t) => {
  const [old, neu] = await upstreams(t, 'old', 'new')
  const oldConnections = connections(old)
  const first: GatewayConfig = { pools: { p: { targets: [old.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let next: GatewayConfig = first
  const gw = await startGateway(first, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const oldId = `127.0.0.1:${old.port}`
  const targetsOf = (g: TestGateway): Array<{ id: string; state: string; inFlight: number }> => g.gateway.status().pools.p!.targets.map(({ id, state, inFlight }) => ({ id, state, inFlight }))

  old.delayMs = 700
  const slow = fetch(`${gw.url}/slow`).then(async (res) => ({ status: res.status, upstream: res.headers.get('x-upstream'), body: await res.text() }))
  await waitFor(() => targetsOf(gw)[0]?.inFlight === 1)
  next = { ...first, pools: { p: { targets: [neu.url] } } }
  t.equal((await gw.gateway.reload()).result, 'success')

  t.strictSame(targetsOf(gw), [{ id: `127.0.0.1:${neu.port}`, state: 'healthy', inFlight: 0 }, { id: oldId, state: 'draining', inFlight: 1 }],
    'the removed target is listed as draining while its request runs')
  t.equal(await whoAnswers(gw.url, '/new'), 'new', 'new requests go to the new target')
  const done = await slow
  t.equal(done.status, 200, 'the in-flight request completed')
  t.equal(done.upstream, 'old')
  await waitFor(() => targetsOf(gw).length === 1)
  t.equal(targetsOf(gw)[0]!.id, `127.0.0.1:${neu.port}`, 'then the removed target is gone')
  await waitFor(() => oldConnections.open() === 0, 2000)
  t.equal(oldConnections.open(), 0, 'and its upstream connections are closed')
})

// Requests keep the state they started with; one whose pool is retired before it picks a target must still be served.
const lateStarters: Array<{ name: string; send: (base: string, reload: () => Promise<unknown>, blue: TestUpstream) => Promise<number> }> = [
  {
    name: 'a PUT whose (buffered, replayable) body is still arriving',
    send: (base, reload) => new Promise((resolve, reject) => {
      const req = request(`${base}/svc`, { method: 'PUT', agent: false, headers: { 'content-length': '10' } }, (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode ?? 0))
      })
      req.once('error', reject)
      req.write('12345')
      setTimeout(() => { void reload().then(() => req.end('67890')) }, 150)
    }),
  },
  {
    name: 'a GET whose first attempt fails after the reload and is retried',
    send: async (base, reload, blue) => {
      blue.failCount = 1
      blue.delayMs = 300
      const pending = fetch(`${base}/svc`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await reload()
      const res = await pending
      await res.arrayBuffer()
      return res.status
    },
  },
]

for (const c of lateStarters) {
  t.test(`${c.name} is served although a reload retires its pool meanwhile`, async (t) => {
    const [blue, green, stable] = await upstreams(t, 'blue', 'green', 'stable')
    const { A, B } = configs(blue, green, stable)
    let next = A
    const gw = await startGateway(A, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    const status = await c.send(gw.url, () => { next = B; return gw.gateway.reload() }, blue)
    t.equal(gw.gateway.status().pools.green !== undefined, true, 'the reload happened')
    t.equal(status, 200)
  })
}

/** The CLI on config A with a JSON file it watches; upstreams blue, green and stable. */
async function cliOnA (t: Tap): Promise<{ cli: Awaited<ReturnType<typeof startCli>>; write: (config: GatewayConfig) => void; A: GatewayConfig; B: GatewayConfig }> {
  const [blue, green, stable] = await upstreams(t, 'blue', 'green', 'stable')
  const { A, B } = configs(blue, green, stable)
  const base = { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, shutdown: { delayMs: 0, timeoutMs: 1000 } }
  const file = join(t.testdir(), 'routes.config.json')
  const write = (config: GatewayConfig): void => writeConfig(file, { ...base, ...config })
  write(A)
  const cli = await startCli(t, file)
  return { cli, write, A, B }
}

t.test('the CLI reloads when its config file is rewritten', async (t) => {
  const { cli, write, B } = await cliOnA(t)
  t.equal(await whoAnswers(cli.url, '/svc'), 'blue')
  write(B)
  await waitFor(async () => (await whoAnswers(cli.url, '/svc')) === 'green', 3000)
  t.pass('routing follows the file')
  t.equal(await whoAnswers(cli.url, '/only-a'), 'no_route')
  t.match(await cli.waitForRecord((r) => r.event === 'reload'), { trigger: 'file' }, 'reloaded by the file watcher')
  cli.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
})

t.test('the CLI reloads on SIGHUP and keeps running', async (t) => {
  const { cli, write, B } = await cliOnA(t)
  // main.ts installs its signal handlers a moment after the listening line (see the shutdown test)
  await new Promise((resolve) => setTimeout(resolve, 400))
  // rewritten, then signalled at once: the signal's reload runs before the watcher's debounce (200 ms) ends
  write(B)
  cli.kill('SIGHUP')
  const record = await cli.waitForRecord((r) => r.event === 'reload', 3000)
  t.equal(record.trigger, 'signal', 'the reload came from the signal')
  t.equal(await whoAnswers(cli.url, '/svc'), 'green')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(cli.running(), 'still running after SIGHUP')
  t.notOk(cli.records.some((r) => r.signal === 'SIGHUP'), 'no shutdown record for SIGHUP')
  cli.kill('SIGTERM')
  t.same(await cli.exited, { code: 0, signal: null })
})

// A reload whose config was still loading when the shutdown began is not applied: its new targets would take the
// requests a draining gateway still serves. (A file change, POST /reload or a SIGHUP just before the stop.)
t.test('a reload still loading when the shutdown begins is refused, the running config kept', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  let release!: () => void
  const loaded = new Promise<void>((resolve) => { release = resolve })
  const config = (target: string): GatewayConfig => ({ shutdown: { delayMs: 300, timeoutMs: 1000 }, pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })
  const gw = await startGateway(config(a.url), { load: async () => { await loaded; return validateConfig(config(b.url)) } })
  t.teardown(() => gw.close())
  const reload = gw.gateway.reload('admin')
  const shutdown = gw.gateway.shutdown()
  release()
  const result = await reload
  t.equal(result.refused, 'shutting_down', 'refused')
  t.equal(gw.gateway.pools().get('p')!.pool.targets[0]!.url, a.url, 'the running config kept')
  // no fault of the config: not counted, fed or logged as a rejected one (an alert on reload errors would page for a
  // routine pod stop)
  t.notOk(gw.gateway.events.list().some((e) => e.kind === 'reload-rejected'), 'no rejected reload in the event feed')
  t.notMatch(await gw.gateway.metrics!.render(), /switchyard_config_reloads_total\{result="error"\} [1-9]/, 'none counted')
  t.ok(gw.logs.some((l) => l.msg === 'reload skipped: the gateway is shutting down'), 'said at info level')
  await shutdown
})

// An invalid config is said as such though the drain began while it loaded: the operator is told what is wrong with
// the file the next start will read, not only that the gateway is shutting down.
t.test('an invalid config loading as the drain begins: 422 invalid_config with its problems', async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  t.teardown(() => a.close())
  let release!: () => void
  const loaded = new Promise<void>((resolve) => { release = resolve })
  const config: GatewayConfig = { shutdown: { delayMs: 300, timeoutMs: 1000 }, pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let loading = false
  const gw = await startGateway(config, { load: async () => { loading = true; await loaded; return validateConfig({ ...config, pools: { p: { targets: ['not a url'] } } }) } })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const answer = fetch(`${admin}/reload`, { method: 'POST' })
  await waitFor(() => loading)
  const shutdown = gw.gateway.shutdown()
  release()
  const res = await answer
  t.equal(res.status, 422)
  t.equal(((await res.json()) as { error: string }).error, 'invalid_config')
  await shutdown
})

// POST /reload while the gateway drains is 503 shutting_down, not 422 invalid_config: the config is not at fault,
// and an operator's tooling reading 422 would report a broken config that is fine.
t.test('POST /reload during the drain: 503 shutting_down, the running config kept', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  let target = a.url
  const config = (): GatewayConfig => ({ shutdown: { delayMs: 500, timeoutMs: 1000 }, pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })
  const gw = await startGateway(config(), { load: async () => validateConfig(config()) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const shutdown = gw.gateway.shutdown()
  target = b.url
  const res = await fetch(`${admin}/reload`, { method: 'POST' })
  t.equal(res.status, 503)
  t.equal(((await res.json()) as { error: string }).error, 'shutting_down')
  t.equal(gw.gateway.pools().get('p')!.pool.targets[0]!.url, a.url, 'the running config kept')
  await shutdown
})
