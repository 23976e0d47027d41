// A drained target whose weight a reload changes is replaced by a new copy (it keeps its drain), while the old copy
// finishes the requests it still has. /status lists the target once, and "drained" only when no copy has a request
// in flight: the rolling-deploy recipe waits for "drained" before it redeploys the upstream. So does a target whose
// scheme a reload changes.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a drained target re-weighted by a reload stays "draining" in /status while its old copy has a request in flight', async (t) => {
  const [a, b] = await Promise.all([TestUpstream.start({ name: 'a' }), TestUpstream.start({ name: 'b' })])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const config = (weightA: number): GatewayConfig => ({ pools: { p: { targets: [{ url: a.url, weight: weightA }, b.url] } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config(1)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const idA = `127.0.0.1:${a.port}`
  const entries = (): Array<{ state: string; inFlight: number }> => gw.gateway.status().pools.p!.targets.filter((x) => x.id === idA).map(({ state, inFlight }) => ({ state, inFlight }))

  // a slow request in flight on a, then a is drained
  a.delayMs = 1500
  let slow: Promise<number> | undefined
  for (let i = 0; i < 4 && a.hits === 0; i++) {
    const res = fetch(`${gw.url}/x`).then((r) => r.status)
    await waitFor(() => a.hits + b.hits > i)
    if (a.hits > 0) slow = res
    else await res
  }
  t.ok(slow !== undefined, 'a request is in flight on a')
  t.equal((await fetch(`${admin}/pools/p/targets/${encodeURIComponent(idA)}/drain`, { method: 'POST' })).status, 200)
  t.strictSame(entries(), [{ state: 'draining', inFlight: 1 }])

  // a reload changes a's weight: the new copy keeps the drain, the old one still has the request
  next = config(3)
  t.equal((await gw.gateway.reload()).result, 'success')
  t.strictSame(entries(), [{ state: 'draining', inFlight: 1 }], 'listed once, draining while the old copy has a request')

  t.equal(await slow, 200, 'the request in flight completes')
  await waitFor(() => entries()[0]?.state === 'drained')
  t.strictSame(entries(), [{ state: 'drained', inFlight: 0 }])
})

// The same with a scheme changed (http:// to https:// on one host:port): the old copy is a separate upstream client,
// counted apart, and the one /status entry still says "draining" until its request ends
t.test('a target re-schemed by a reload and drained stays "draining" while its old copy has a request in flight', async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  t.teardown(() => a.close())
  const config = (scheme: 'http' | 'https'): GatewayConfig => ({ pools: { p: { targets: [`${scheme}://127.0.0.1:${a.port}`] } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config('http')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const idA = `127.0.0.1:${a.port}`
  const entries = (): Array<{ state: string; inFlight: number }> => gw.gateway.status().pools.p!.targets.filter((x) => x.id === idA).map(({ state, inFlight }) => ({ state, inFlight }))

  a.delayMs = 1500
  const slow = fetch(`${gw.url}/x`).then((r) => r.status)
  await waitFor(() => a.hits === 1)

  next = config('https')
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal((await fetch(`${admin}/pools/p/targets/${encodeURIComponent(idA)}/drain`, { method: 'POST' })).status, 200)
  t.strictSame(entries(), [{ state: 'draining', inFlight: 1 }], 'listed once, draining while the old copy has a request')

  t.equal(await slow, 200, 'the request in flight completes')
  await waitFor(() => entries()[0]?.state === 'drained')
  t.strictSame(entries(), [{ state: 'drained', inFlight: 0 }])
})
