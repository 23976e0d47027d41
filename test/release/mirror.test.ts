// Shadow traffic (mirror): each subtest is one behaviour, named as its file was.
import t from 'tap'
import { type TestGateway, waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, holdOnlyConnection, refusedUrl, type Tap, upstream } from '../proxy/setup.ts'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { CertificateMaker } from '../helpers/certificates.ts'
import { ManualClock } from '../helpers/clock.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import type { TrafficSummary } from '../../src/admin/history.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { abortMirrors, buildPlans, type PlanEvents, type RoutePlan } from '../../src/release/plans.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import { createServer as createHttpServer, get, type ServerResponse } from 'node:http'
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { ScriptedUpstream } from '../reliability/scripted-upstream.ts'
import type { TLSSocket } from 'node:tls'

// x-switchyard-mirror is the gateway's own header: a client's never reaches an upstream, so the primary cannot be
// told a request is a shadow copy, and a copy carries the gateway's value alone.
t.test('mirror-header-forged', async (t) => {
  /** Every x-switchyard-mirror line an upstream received, as sent. */
  function mirrorValues (raw: string[]): string[] {
    const values: string[] = []
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'x-switchyard-mirror') values.push(raw[i + 1]!)
    return values
  }

  t.test("a client's x-switchyard-mirror reaches neither the primary nor the mirror", async (t) => {
    const v1 = await upstream(t, 'v1')
    const shadow = await upstream(t, 'shadow')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: { main: { targets: [v1.url] }, shadow: { targets: [shadow.url] } },
      routes: [{ path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
    }, { defaultMetrics: false })
    const res = await httpRequest(`${gw.url}/pay`, { method: 'POST', body: 'x', headers: { 'x-switchyard-mirror': '0', 'X-Switchyard-Mirror': '1' } })
    t.equal(res.status, 200)
    await waitFor(() => shadow.requests.length === 1)
    t.strictSame(mirrorValues(v1.requests[0]!.rawHeaders), [], 'the primary gets none')
    t.strictSame(mirrorValues(shadow.requests[0]!.rawHeaders), ['1'], "the copy carries the gateway's one value")
  })
})

// A shadow copy carries the Host its mirror pool's preserveHost says, as the pool's own requests do: the client's
// with preserveHost (the default), the target's host:port without it. A mirror service behind a virtual host that
// expects its own name must get it, not the name the client used for the primary.
t.test('mirror-host', async (t) => {
  async function copyHost (t: Tap, preserveHost: boolean): Promise<{ host: string | undefined; target: string }> {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], preserveHost } },
      routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow' } }],
    }, { defaultMetrics: false })
    t.equal((await httpRequest(`${gw.url}/api/x`, { headers: { host: 'shop.example' } })).status, 200)
    await waitFor(() => shadow.requests.length === 1)
    t.equal(main.requests[0]!.headers.host, 'shop.example', "the primary pool preserves the client's Host")
    return { host: shadow.requests[0]!.headers.host, target: `127.0.0.1:${shadow.port}` }
  }

  t.test("preserveHost false: the copy carries the mirror target's host", async (t) => {
    const { host, target } = await copyHost(t, false)
    t.equal(host, target)
  })

  t.test("preserveHost true: the copy carries the client's Host", async (t) => {
    const { host } = await copyHost(t, true)
    t.equal(host, 'shop.example')
  })
})

// A shadow copy whose deadline ran out while a connection was being opened for it is over: when that connection
// comes up after all (the mirror target was only slow to accept), undici starting the copy must not send it. A copy
// sent past its deadline would reach the shadow service unbounded and uncounted (the copy was already counted as
// the target's timeout, and its mirror slot given back), loading it beyond maxConcurrent.
t.test('mirror-late-connection', async (t) => {
  const certs = new CertificateMaker()
  t.teardown(() => certs.remove())
  const ca = certs.ca('test-ca')
  const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')

  t.test('a copy that timed out while its connection was opened is not sent once the connection is up', async (t) => {
    const shadow = await upstream(t, 'shadow', { tls: forAddress })
    // a gate in front of the shadow: holds connections until opened, then pipes them through
    const held = new Set<Socket>()
    let open = false
    const pipe = (socket: Socket): void => {
      const out = connect(shadow.port, '127.0.0.1')
      out.on('error', () => socket.destroy())
      socket.on('error', () => out.destroy())
      socket.pipe(out).pipe(socket)
    }
    const gate = createServer((socket) => {
      held.add(socket)
      socket.once('close', () => held.delete(socket))
      if (open) pipe(socket)
    })
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
    t.teardown(() => {
      for (const s of held) s.destroy()
      return new Promise<void>((resolve) => gate.close(() => resolve()))
    })
    const main = await upstream(t, 'main')
    const clock = new ManualClock()
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url] },
        shadow: {
          targets: [`https://127.0.0.1:${(gate.address() as AddressInfo).port}`],
          tls: { ca: ca.cert },
          connections: { maxPerTarget: 1 },
          timeouts: { requestMs: 500, connectMs: 60_000 },
          outlier: { enabled: false },
          circuitBreaker: { enabled: false },
        },
      },
      routes: [{ path: '/direct', pool: 'shadow' }, { path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { clock, defaultMetrics: false })
    const plan = [...gw.gateway.proxy.state.plans!.values()].find((p) => p.mirror !== undefined)!

    t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200)
    await waitFor(() => held.size === 1)
    clock.advance(500)
    t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it')

    // the target accepts after all: the connection opened for the copy comes up
    open = true
    for (const s of held) pipe(s)
    // the shadow pool's own request, behind the copy on the only connection were the copy sent
    t.equal((await httpRequest(`${gw.url}/direct/after`)).status, 200)
    t.strictSame(shadow.requests.map((r) => r.url), ['/direct/after'], 'the timed-out copy never reached the shadow')
  })
})

// A shadow copy for a mirror pool with no target available (all disabled, drained or ejected) cannot be sent: it is
// counted `failed`, and gives its mirror slot back at once. A slot kept would count against maxConcurrent for good,
// and after maxConcurrent such requests the route would mirror nothing again (skipped_concurrency) once the pool
// is back.
t.test('mirror-no-target', async (t) => {
  t.test('copies for a mirror pool with no target available fail and free their slot', async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url] } },
      routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100, maxConcurrent: 1 } }],
    }, { defaultMetrics: false, env: {} })
    const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
    const { pool } = gw.gateway.pools().get('shadow')!
    const target = pool.targets[0]!
    const mirrored = async (outcome: string): Promise<number | undefined> =>
      seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

    pool.setStatus(target, { disabled: true })
    for (let i = 0; i < 3; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
    t.equal(await mirrored('failed'), 3, 'each copy found no target')
    t.equal(await mirrored('skipped_concurrency'), undefined, 'none was refused for a slot')
    t.equal(plan.mirrorsInFlight, 0)

    pool.setStatus(target, { disabled: false })
    t.equal((await httpRequest(`${gw.url}/api/back`)).status, 200)
    await waitFor(() => shadow.requests.length === 1)
    t.equal(shadow.requests[0]!.url, '/api/back', 'the pool back, copies go again')
  })
})

// Shadow copies are attempts of the mirror pool's targets (as Envoy counts them in the shadow cluster's upstream
// stats): each is counted in switchyard_upstream_attempts_total, the dashboard's /history and the target's /status
// requests and failures, with its real outcome. A copy the shadow service answered with an error is counted as
// error_status in switchyard_mirror_requests_total, apart from copies that were delivered (sent) and copies that
// could not be (failed): the errors of the version under test are what mirroring is there to show.
t.test('mirror-observed', async (t) => {
  const COPIES = 4

  async function mirrorTo (t: Tap, shadowUrl: string) {
    const main = await upstream(t, 'main')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url] },
        shadow: { targets: [shadowUrl], outlier: { enabled: false }, circuitBreaker: { enabled: false } },
      },
      routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { defaultMetrics: false, env: {} })
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
    for (let i = 0; i < COPIES; i++) t.equal((await httpRequest(`${gw.url}/api/${i}`)).status, 200)
    await waitFor(() => target.requests === COPIES)
    const series = seriesOf(await gw.gateway.metrics!.render())
    const attempts = (outcome: string): number | undefined => series[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
    const mirrored = (outcome: string): number | undefined => series[key('switchyard_mirror_requests_total', { route: 'api', outcome })]
    return { gw, target, attempts, mirrored }
  }

  t.test('copies the shadow answers 200 are successful attempts, sent', async (t) => {
    const shadow = await upstream(t, 'shadow')
    const { target, attempts, mirrored } = await mirrorTo(t, shadow.url)
    t.equal(attempts('success'), COPIES)
    t.equal(mirrored('sent'), COPIES)
    t.equal(mirrored('error_status'), undefined)
    t.equal(target.failures, 0)
  })

  t.test("copies answered 500 (not a failure status) are attempts, errors in /history, and error_status", async (t) => {
    const shadow = await upstream(t, 'shadow')
    shadow.failCount = 1_000
    shadow.failStatus = 500
    const { gw, target, attempts, mirrored } = await mirrorTo(t, shadow.url)
    t.equal(attempts('success'), COPIES, "answered: no failure of the target's, as for a request")
    t.equal(mirrored('error_status'), COPIES)
    t.equal(mirrored('sent'), undefined, 'an answered 500 is not counted as a copy that went well')
    t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: 0 }, '/status counts them')
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    let summary: TrafficSummary | undefined
    // the history is sampled once a second
    await waitFor(async () => {
      summary = await (await fetch(`${admin}/history`)).json() as TrafficSummary
      return (summary.targets.shadow?.[target.id]?.rps ?? 0) > 0
    }, 3000)
    t.equal(summary!.targets.shadow![target.id]!.errorRate, 1, "the mirror pool's tile shows its copies' 500s")
  })

  t.test('copies answered with a failure status are status attempts, failures of the target, and error_status', async (t) => {
    const shadow = await upstream(t, 'shadow')
    shadow.failCount = 1_000
    shadow.failStatus = 503
    const { target, attempts, mirrored } = await mirrorTo(t, shadow.url)
    t.equal(attempts('status'), COPIES)
    t.equal(mirrored('error_status'), COPIES)
    t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: COPIES })
  })

  t.test('copies to a target that refuses connections are connect failures, failed', async (t) => {
    const { target, attempts, mirrored } = await mirrorTo(t, await refusedUrl())
    t.equal(attempts('connect-failure'), COPIES)
    t.equal(mirrored('failed'), COPIES)
    t.same({ requests: target.requests, failures: target.failures }, { requests: COPIES, failures: COPIES })
  })
})

// A mirror pool whose breaker is open (its own route's requests failed) gets no shadow copies: its own traffic is
// kept off the sick upstream, and copies must not load it either. The copies skipped are counted as skipped_circuit.
// Half-open, copies go again: they never probe the breaker, so a pool with no traffic of its own would otherwise
// never get another copy.
t.test('mirror-open-breaker', async (t) => {
  t.test('no copies reach a mirror pool whose breaker is open', async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    shadow.failCount = 1_000_000 // every answer a 503
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url] },
        shadow: { targets: [shadow.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 5, resetTimeoutMs: 60_000 } },
      },
      routes: [{ path: '/shadow', pool: 'shadow' }, { path: '/b', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { defaultMetrics: false })
    for (let i = 0; i < 6; i++) await httpRequest(`${gw.url}/shadow/x`)
    t.equal(gw.gateway.pools().get('shadow')!.breaker.state, 'open')
    const before = shadow.requests.length
    for (let i = 0; i < 10; i++) t.equal((await httpRequest(`${gw.url}/b/x`)).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(shadow.requests.length, before, 'no copy reached the shadow upstream')
    const metrics = await gw.gateway.metrics!.render()
    t.match(metrics, /switchyard_mirror_requests_total\{route="[^"]*",outcome="skipped_circuit"\} 10/)
  })

  t.test('copies flow again once the breaker is half-open', async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    shadow.failCount = 6
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url] },
        shadow: { targets: [shadow.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 5, resetTimeoutMs: 200 } },
      },
      routes: [{ path: '/shadow', pool: 'shadow' }, { path: '/b', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { defaultMetrics: false })
    for (let i = 0; i < 6; i++) await httpRequest(`${gw.url}/shadow/x`)
    const breaker = gw.gateway.pools().get('shadow')!.breaker
    t.equal(breaker.state, 'open')
    await waitFor(() => breaker.state === 'half-open', 3000)
    const before = shadow.requests.length
    for (let i = 0; i < 5; i++) t.equal((await httpRequest(`${gw.url}/b/x`)).status, 200)
    await waitFor(() => shadow.requests.length === before + 5, 2000)
    t.equal(shadow.requests.length, before + 5, 'every copy reached the shadow upstream')
  })
})

// A mirror copies `percent` of a route's requests: a request is copied when the gateway's draw (in [0, 1)) times 100
// is under the percent. Every other mirror test mirrors 100%, where no draw decides: this pins the share itself, so a
// mirror set to 25% never copies more (shadow traffic costs the shadow pool, and a copy of a write is a write), and
// that 0 copies nothing and 100 everything, whatever the draw.
t.test('mirror-percent', async (t) => {
  const events: PlanEvents = { fallback () {}, readToPrimary () {}, weight () {}, mirror () {}, rollback () {} }

  /** The plan of a route mirrored at `percent`, drawing what `draw` holds. */
  function mirrored (percent: number, draw: { value: number }): RoutePlan {
    const config = validateConfig({
      log: { level: 'silent' },
      pools: { main: { targets: ['http://127.0.0.1:1'] }, shadow: { targets: ['http://127.0.0.1:2'] } },
      routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow', percent } }],
    })
    const plans = buildPlans(config, new RoutingTable(config.routes).routes, { secret: 's', clock: new ManualClock(), random: () => draw.value, events })
    return [...plans.values()][0]!
  }

  t.test('a request is copied when the draw is under the percent, not at it', async (t) => {
    const draw = { value: 0 }
    const plan = mirrored(25, draw)
    draw.value = 0.2499
    t.equal(plan.mirrorThis(), true, 'a draw of 24.99%: copied')
    draw.value = 0.25
    t.equal(plan.mirrorThis(), false, 'a draw of 25%: not copied')
    draw.value = 0.9
    t.equal(plan.mirrorThis(), false, 'a draw of 90%: not copied')
    let copied = 0
    for (let i = 0; i < 1000; i++) {
      draw.value = i / 1000
      if (plan.mirrorThis()) copied++
    }
    t.equal(copied, 250, 'draws spread evenly over [0, 1): exactly a quarter copied')
  })

  t.test('0% copies nothing and 100% everything, whatever the draw', async (t) => {
    const draw = { value: 0 }
    const none = mirrored(0, draw)
    const all = mirrored(100, draw)
    for (const value of [0, 0.5, 0.9999999]) {
      draw.value = value
      t.equal(none.mirrorThis(), false, `0%, draw ${value}`)
      t.equal(all.mirrorThis(), true, `100%, draw ${value}`)
    }
  })
})

// A shadow copy for a mirror pool whose target's queue is full (connections.maxQueuedPerTarget copies or requests
// already wait for a connection) is not sent: undici would queue it past its deadline. It is counted as a request's
// would be in that spot: a busy attempt of the target's (switchyard_upstream_attempts_total{outcome="busy"}), not a
// failure of it, and `failed` in switchyard_mirror_requests_total; its mirror slot (maxConcurrent) is given back at
// once, and it never enters the target's queue.
t.test('mirror-queue-full', async (t) => {
  t.test('a copy for a full queue is a busy attempt, failed, and frees its slot', async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url] },
        shadow: { targets: [shadow.url], connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 }, retry: { maxBufferBytes: 16 } },
      },
      routes: [{ path: '/hold', pool: 'shadow' }, { name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { defaultMetrics: false, env: {} })
    const plan = [...gw.gateway.proxy.state.plans!.values()].find((p) => p.mirror !== undefined)!
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
    const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
    const mirrored = async (outcome: string): Promise<number | undefined> =>
      (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

    let seen = 0
    shadow.server.on('request', () => { seen++ })
    const held = await holdOnlyConnection(t, gw.url, target, () => seen === 1)

    t.equal((await httpRequest(`${gw.url}/api/1`)).status, 200)
    t.equal(target.queued, 1, 'the first copy waits for the connection: the queue is full')
    t.equal((await httpRequest(`${gw.url}/api/2`)).status, 200, 'the client never waits for the mirror')
    t.equal(target.queued, 1, 'the second copy never entered the queue')
    t.equal(plan.mirrorsInFlight, 1, "the second copy's slot was given back")
    t.equal(await mirrored('failed'), 1)
    t.equal((await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome: 'busy' })], 1,
      'a busy attempt of the target, as a request would be')
    t.equal(target.failures, 0, 'not a failure of the target, which never saw it')

    held.release()
    await waitFor(async () => (await mirrored('sent')) === 1)
    t.equal(plan.mirrorsInFlight, 0)
    t.equal(seen, 2, 'the held request and the first copy reached the shadow, the second copy never did')
  })
})

// A shadow copy that waits for a connection of a saturated mirror pool: its deadline (the mirror pool's
// requestMs) ends it there, giving back its mirror slot without counting against the target, and takes it out of
// the target's queue: a copy past its deadline never reaches the shadow upstream.
t.test('mirror-queued', async (t) => {
  t.test('a mirror queued past its deadline ends, frees its slot, and never reaches the shadow upstream', async (t) => {
    let held: ServerResponse | undefined
    let copies = 0
    const shadow = createHttpServer((req, res) => {
      if (req.url === '/stream') {
        held = res
        res.writeHead(200).write('x') // holds the mirror pool's only connection until ended below
        return
      }
      copies++
      res.end('shadow')
    })
    await new Promise<void>((resolve) => shadow.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { shadow.closeAllConnections(); shadow.close() })
    const main = await upstream(t, 'main')
    const clock = new ManualClock()
    const gw = await gateway(t, {
      pools: {
        main: { targets: [main.url] },
        shadow: { targets: [`http://127.0.0.1:${(shadow.address() as AddressInfo).port}`], connections: { maxPerTarget: 1 }, timeouts: { requestMs: 500 } },
      },
      routes: [{ path: '/stream', pool: 'shadow' }, { path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { clock, defaultMetrics: false })
    const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!

    const stream = get(`${gw.url}/stream`, (res) => res.resume())
    stream.on('error', () => { /* ended below */ })
    t.teardown(() => { stream.destroy() })
    await waitFor(() => held !== undefined)

    t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200, "the client's answer never waits for the mirror")
    await waitFor(() => target.queued === 1)
    t.equal(plan.mirrorsInFlight, 1, 'the copy waits for the connection')
    clock.advance(500)
    t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it and gave its slot back')
    t.equal(target.failures, 0, 'not a failure of the target, which never saw it')
    t.equal(target.queued, 0, 'out of the queue at its deadline')
    t.equal(target.client.queued, 0)

    held!.end()
    await waitFor(() => target.queued === 0 && target.inFlight === 0)
    t.equal(copies, 0, 'the shadow upstream never received the copy')
  })
})

// A mirror's copies in flight outlive a reload: the route's count (maxConcurrent, /status inFlight) carries over to
// the plans a reload builds, as the canary's window does, and copies begun before it count until they end.
t.test('mirror-reload-limit', async (t) => {
  t.test('copies begun before a reload count against maxConcurrent and in /status until they end', async (t) => {
    const v1 = await upstream(t, 'v1')
    const shadow = await upstream(t, 'shadow')
    shadow.mode = 'hang'
    const open = new Set<Socket>()
    shadow.server.on('request', (req) => {
      open.add(req.socket)
      req.socket.once('close', () => open.delete(req.socket))
    })
    const config = (requestMs: number): GatewayConfig => ({
      log: { level: 'silent' },
      pools: { main: { targets: [v1.url], timeouts: { requestMs } }, shadow: { targets: [shadow.url], timeouts: { requestMs: 20_000 } } },
      routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow', maxConcurrent: 2 } }],
    })
    let next = config(30_000)
    const gw = await gateway(t, next, { defaultMetrics: false, load: async () => validateConfig(next) })
    const inFlight = (): number => gw.gateway.status().routes[0]!.mirror!.inFlight
    const burst = async (n: number): Promise<void> => {
      for (const r of await Promise.all(Array.from({ length: n }, (_, i) => httpRequest(`${gw.url}/x${i}`)))) t.equal(r.status, 200)
    }

    await burst(4)
    await waitFor(() => open.size === 2)
    t.equal(inFlight(), 2)
    for (let i = 1; i <= 2; i++) {
      next = config(30_000 + i) // a change elsewhere: the mirror is as it was
      t.equal((await gw.gateway.reload()).result, 'success')
      await burst(4)
      await new Promise((resolve) => setTimeout(resolve, 100))
      t.equal(open.size, 2, `after reload ${i}: still at most maxConcurrent copies at the mirror`)
      t.equal(inFlight(), 2, `after reload ${i}: /status counts the copies begun before it`)
    }

    // the copies begun before the reloads end: their slots come back to the plan in force
    for (const socket of open) socket.destroy()
    await waitFor(() => inFlight() === 0)
    await burst(1)
    await waitFor(() => open.size === 1)
    t.equal(inFlight(), 1, 'one new copy, counted once')
    for (const socket of open) socket.destroy()
    await waitFor(() => inFlight() === 0)
  })
})

// Shadow traffic is best-effort: closing the gateway aborts its mirror copies in flight (those begun before a reload
// too) rather than wait for them. A copy held by a hanging mirror pool held shutdown() and close() for that pool's
// requestMs, as closing its connections waited for the copy.
t.test('mirror-shutdown', async (t) => {
  const MIRROR_DEADLINE_MS = 10_000

  async function setup (t: Tap): Promise<{ gw: TestGateway; shadow: TestUpstream; open: Set<Socket>; reload (): Promise<void> }> {
    const v1 = await upstream(t, 'v1')
    const shadow = await upstream(t, 'shadow')
    shadow.mode = 'hang'
    const open = new Set<Socket>()
    shadow.server.on('request', (req) => {
      open.add(req.socket)
      req.socket.once('close', () => open.delete(req.socket))
    })
    const config = (requestMs: number): GatewayConfig => ({
      log: { level: 'silent' },
      shutdown: { delayMs: 0, timeoutMs: 300 },
      pools: { main: { targets: [v1.url], timeouts: { requestMs } }, shadow: { targets: [shadow.url], timeouts: { requestMs: MIRROR_DEADLINE_MS } } },
      routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
    })
    let next = config(30_000)
    const gw = await gateway(t, next, { defaultMetrics: false, load: async () => validateConfig(next) })
    return {
      gw,
      shadow,
      open,
      async reload () {
        next = config(30_001)
        t.equal((await gw.gateway.reload()).result, 'success')
      },
    }
  }

  t.test('abortMirrors ends every copy in flight at once, those begun before a reload too, and starts no more', async (t) => {
    const { gw, shadow, open, reload } = await setup(t)
    t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
    await reload()
    t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
    await waitFor(() => open.size === 2)
    const plan = (): { mirrorsInFlight: number } => [...gw.gateway.proxy.state.plans!.values()][0]!
    t.equal(plan().mirrorsInFlight, 2)

    abortMirrors(gw.gateway.proxy.state.plans)
    await waitFor(() => open.size === 0, 2000)
    t.equal(plan().mirrorsInFlight, 0, 'their slots are back')
    t.equal(gw.gateway.pools().get('shadow')!.pool.targets[0]!.failures, 0, 'no failure of the mirror target')

    t.equal((await httpRequest(`${gw.url}/c`)).status, 200, 'the client is served as before')
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(shadow.hits, 2, 'no copy sent once aborted')
    t.equal(plan().mirrorsInFlight, 0)
  })

  t.test('a copy still queued for a connection when the copies are aborted is a client-abort, not busy', async (t) => {
    const v1 = await upstream(t, 'v1')
    const shadow = await upstream(t, 'shadow')
    shadow.mode = 'hang'
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: { main: { targets: [v1.url] }, shadow: { targets: [shadow.url], connections: { maxPerTarget: 1 }, timeouts: { requestMs: MIRROR_DEADLINE_MS } } },
      routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
    }, { defaultMetrics: false, env: {} })
    const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
    t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
    await waitFor(() => shadow.hits === 1)
    t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
    t.equal(target.queued, 1, "the second copy waits for the shadow's only connection")

    abortMirrors(gw.gateway.proxy.state.plans)
    await waitFor(() => plan.mirrorsInFlight === 0, 2000)
    t.equal(target.queued, 0, 'it left the queue')
    const series = seriesOf(await gw.gateway.metrics!.render())
    const attempts = (outcome: string): number | undefined => series[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
    t.equal(attempts('client-abort'), 2, 'both copies, the started one and the queued one')
    t.equal(attempts('busy'), undefined, 'the queued copy was not refused by a busy target')
    t.equal(target.failures, 0)
  })

  for (const how of ['shutdown', 'close'] as const) {
    t.test(`${how}() does not wait for a hanging mirror`, async (t) => {
      const { gw, open, reload } = await setup(t)
      t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
      await reload()
      t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
      await waitFor(() => open.size === 2)
      const started = performance.now()
      await gw.gateway[how]()
      const ms = performance.now() - started
      t.ok(ms < 3000, `${how}() took ${ms.toFixed(0)} ms (the mirror's deadline is ${MIRROR_DEADLINE_MS} ms)`)
      await waitFor(() => open.size === 0, 2000)
    })
  }
})

// A shadow copy whose deadline (the mirror pool's requestMs) runs out while a connection is being opened for it
// (the shadow target accepts TCP and never answers the TLS handshake) met a target slow to accept: a timeout, the
// target's failure, as a request's or a handshake's is in the same spot. Only a copy still waiting in the target's
// queue behind busy connections is "busy", never seen by the target. (src/proxy/mirror.ts, abort: the copy is busy
// only when withdraw() finds it waiting.)
t.test('mirror-slow-accept', async (t) => {
  t.test('a mirror copy timed out while its connection is being opened is the shadow target\'s timeout', async (t) => {
    const held = new Set<Socket>()
    const silent = createServer((socket) => { held.add(socket); socket.on('error', () => {}) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    t.teardown(() => {
      for (const s of held) s.destroy()
      return new Promise<void>((resolve) => silent.close(() => resolve()))
    })
    const main = await upstream(t, 'main')
    const clock = new ManualClock()
    const gw = await gateway(t, {
      pools: {
        main: { targets: [main.url] },
        shadow: {
          targets: [`https://127.0.0.1:${(silent.address() as AddressInfo).port}`],
          tls: { rejectUnauthorized: false },
          timeouts: { requestMs: 500, connectMs: 60_000 },
          outlier: { enabled: false },
        },
      },
      routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { clock, defaultMetrics: false })
    const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
    const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!

    t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200)
    await waitFor(() => held.size === 1)
    t.equal(target.client.queued, 0, 'not waiting in the queue: a connection is being opened for it')
    clock.advance(500)
    t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it')
    t.equal(target.failures, 1, 'the target was slow to accept: its failure')
    for (const s of held) s.destroy()
    await waitFor(() => target.inFlight === 0 && target.queued === 0)
  })
})

// A request body too large to buffer (over the pool's retry.maxBufferBytes) streams to the upstream and can be read
// once: it is not copied to the mirror pool (README, Mirror: "Only bodies that were buffered anyway are copied").
// The request is served whole, and the skipped copy is counted as skipped_body, not as a copy sent or failed: a
// stream handed to a second dispatch would be read by two consumers, cutting the real request's body.
t.test('mirror-streamed-body', async (t) => {
  t.test('a streamed body is not mirrored: served whole, counted skipped_body', async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow')
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: {
        main: { targets: [main.url], retry: { maxBufferBytes: 1024 } },
        shadow: { targets: [shadow.url] },
      },
      routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
    }, { defaultMetrics: false, env: {} })
    const mirrored = async (outcome: string): Promise<number | undefined> =>
      seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

    const big = Buffer.alloc(64 * 1024, 'b')
    const res = await httpRequest(`${gw.url}/api/upload`, { method: 'POST', body: big })
    t.equal(res.status, 200)
    t.equal(res.echo().bodyBytes, big.length, 'the primary got the whole body')
    t.equal(await mirrored('skipped_body'), 1, 'the copy was skipped for its body')

    // a buffered body is copied: the mirror works, and the streamed request's copy was the one left out
    t.equal((await httpRequest(`${gw.url}/api/small`, { method: 'POST', body: 'x' })).status, 200)
    await waitFor(async () => (await mirrored('sent')) === 1)
    t.strictSame(shadow.requests.map((r) => r.url), ['/api/small'], 'only the buffered request reached the shadow')
  })
})

// A shadow copy that the mirror upstream received and never answered is ended by its deadline (the mirror pool's
// requestMs) and counted as what it is: a timeout of the shadow target (switchyard_upstream_attempts_total
// {outcome="timeout"}, a failure in /status), `failed` in switchyard_mirror_requests_total. Not a reset: an operator
// reading the mirror pool's attempts must see a slow shadow service, not a dropped connection. The copy counts in
// its target's queue (connections.maxQueuedPerTarget) until undici starts it, once: never below zero. A copy whose
// answer goes silent mid-body is cut at the mirror pool's timeouts.idleMs (README: the longest silence while the
// upstream streams the body), as the pool's own requests are, not held (and its maxConcurrent slot with it) until
// the requestMs deadline.
t.test('mirror-timeout', async (t) => {
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
})

// Shadow copies to an HTTPS mirror target are named by the target (its TLS name; for an IP address, the address:
// no SNI, RFC 6066 §3), as the pool's own requests are (test/proxy/tls-ip-target-name.test.ts), never by the
// client's Host that each copy preserves. undici names a request by its Host when the request does not name it, and
// drops a pooled TLS connection whenever the next request's name differs ("servername changed"): copies of requests
// for different Hosts would each cost the mirror target a new TLS handshake.
t.test('mirror-tls-servername', async (t) => {
  const certs = new CertificateMaker()
  t.teardown(() => certs.remove())
  const ca = certs.ca('test-ca')
  const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')

  t.test("copies for different Hosts keep the mirror target's pooled TLS connection", async (t) => {
    const main = await upstream(t, 'main')
    const shadow = await upstream(t, 'shadow', { tls: forAddress })
    const sni: (string | false | null)[] = []
    shadow.server.on('secureConnection', (socket: TLSSocket) => sni.push(socket.servername))
    t.match(shadow.url, /^https:\/\/127\.0\.0\.1:/)
    const gw = await gateway(t, {
      log: { level: 'silent' },
      pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], tls: { ca: ca.cert } } },
      routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow' } }],
    }, { defaultMetrics: false, env: {} })
    const mirrored = async (outcome: string): Promise<number | undefined> =>
      seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

    const hosts = ['api.example.com', 'shop.example.com', 'api.example.com']
    for (const [i, host] of hosts.entries()) {
      t.equal((await httpRequest(`${gw.url}/api/${i}`, { headers: { host } })).status, 200)
      await waitFor(async () => ((await mirrored('sent')) ?? 0) + ((await mirrored('failed')) ?? 0) === i + 1)
    }
    t.equal(await mirrored('sent'), hosts.length, 'every copy was delivered')
    t.strictSame(shadow.requests.map((r) => r.headers.host), hosts, "each with its client's Host preserved")
    t.equal(sni.length, 1, 'over one TLS connection')
    t.notOk(sni[0], 'no SNI for an IP address')
  })
})
