// Canary weights change under load, through the admin API and through config reloads, with no failed request;
// a mirror that hangs leaves the clients' latency where it is without a mirror.
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { failures, Load, rate } from '../helpers/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function upstreams (t: Tap) {
  const ups = await Promise.all([TestUpstream.start({ name: 'v1' }), TestUpstream.start({ name: 'v2' }), TestUpstream.start({ name: 'shadow' })])
  t.teardown(() => Promise.all(ups.map((u) => u.close())))
  return ups
}

const configWith = (v1: TestUpstream, v2: TestUpstream, weight: number, extra: Record<string, unknown> = {}): GatewayConfig => ({
  pools: { 'payment-v1': { targets: [v1.url] }, 'payment-v2': { targets: [v2.url] } },
  routes: [{ name: 'payment', path: '/payment', pool: 'payment-v1', canary: { pool: 'payment-v2', weight, stickyBy: 'header:x-user-id' }, ...extra }],
})

t.test('canary weights set through the admin API and through reloads under ≥ 200 req/s: zero failed requests, each weight in force at once', async (t) => {
  const [v1, v2] = await upstreams(t)
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-canary-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.json')
  await writeFile(file, JSON.stringify(configWith(v1!, v2!, 10)))
  const gw = await startGateway(configWith(v1!, v2!, 10), { defaultMetrics: false, configFile: file })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const load = Load.start({ url: gw.url, concurrency: 6, durationMs: 15_000, pauseMs: 1, path: (_l, seq) => `/payment/${seq}`, headers: (loop, seq) => ({ 'x-user-id': `user-${loop}-${seq % 40}` }) })
  const weightNow = (): number => gw.gateway.status().routes[0]!.canary!.weight
  for (const weight of [0, 50, 100, 25, 0, 75, 100, 10]) {
    const res = await fetch(`${admin}/routes/payment/canary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weight }) })
    t.equal(res.status, 200)
    t.equal(weightNow(), weight, `operator weight ${weight} in force at once`)
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  for (const weight of [100, 0, 30, 0, 60]) {
    await writeFile(file, JSON.stringify(configWith(v1!, v2!, weight)))
    const result = await gw.gateway.reload('signal')
    t.equal(result.result, 'success')
    t.equal(weightNow(), weight, `file weight ${weight} after the reload`)
    t.equal(gw.gateway.status().routes[0]!.canary!.weightSource, 'file')
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  const records = await load.stop()
  // the load aims well above 200 req/s (over 1,000 on a quiet machine); the rate is a report, not a timed assertion
  t.comment(`${rate(records).toFixed(0)} req/s`)
  t.strictSame(failures(records), [], `${records.length} requests, none failed`)
  t.ok(v1!.hits > 0 && v2!.hits > 0, 'both versions served')
})

/** p99 and slowest of the clients' latency (ms) over a bounded run. */
async function p99 (url: string): Promise<{ p99: number; max: number; failed: number; statuses: number[] }> {
  const load = Load.start({ url, concurrency: 4, durationMs: 2500, pauseMs: 1, path: (_l, seq) => `/payment/${seq}` })
  const records = await load.stop()
  const times = records.filter((r) => r.status === 200).map((r) => r.endedAt - r.startedAt).sort((a, b) => a - b)
  return { p99: times[Math.floor(times.length * 0.99)] ?? Infinity, max: times.at(-1) ?? Infinity, failed: failures(records).length, statuses: [...new Set(records.map((r) => r.status ?? 0))] }
}

t.test('a mirror that hangs for 10 s: client statuses and p99 as without the mirror; never more than maxConcurrent copies in flight', async (t) => {
  const [v1, v2, shadow] = await upstreams(t)
  shadow!.delayMs = 10_000
  let open = 0
  let most = 0
  shadow!.server.on('request', (req) => {
    open++
    most = Math.max(most, open)
    req.socket.once('close', () => { open-- })
  })
  const plain = await startGateway(configWith(v1!, v2!, 0), { defaultMetrics: false })
  t.teardown(() => plain.close())
  const mirrored = await startGateway({
    ...configWith(v1!, v2!, 0, { mirror: { pool: 'payment-shadow', percent: 100, maxConcurrent: 8 } }),
    pools: { ...configWith(v1!, v2!, 0).pools, 'payment-shadow': { targets: [shadow!.url], timeouts: { requestMs: 3000 } } },
  }, { defaultMetrics: false })
  t.teardown(() => mirrored.close())
  await p99(plain.url) // warm-up, both ways, so neither run pays for the JIT
  await p99(mirrored.url)
  const without = await p99(plain.url)
  const withMirror = await p99(mirrored.url)
  await waitFor(() => open > 0)
  t.comment(`client p99 without a mirror ${without.p99.toFixed(1)} ms, with a hanging one ${withMirror.p99.toFixed(1)} ms`)
  t.equal(without.failed + withMirror.failed, 0, 'no client request failed either way')
  t.strictSame(withMirror.statuses, without.statuses, 'the same statuses')
  // p99s are reported above (a timed comparison belongs in the benchmark, not here); what a test can hold:
  // no client answer waited for the mirror, which answers after 10 s and is abandoned at 3 s
  t.ok(withMirror.max < 1000, `the slowest client answer took ${withMirror.max} ms, nowhere near the mirror's hang`)
  t.ok(most <= 8, `at most ${most} mirror requests at once (maxConcurrent 8)`)
})
