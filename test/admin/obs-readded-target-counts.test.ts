// A target removed by a reload while requests are in flight on it, added back, removed and added back again, with
// requests in flight on each removed copy: what /status and /metrics say it carries is what the upstream holds
// (every copy shares one in-flight count: adding each removed copy's again counted them twice), and once those
// requests end its requests in /status and its attempts series agree (a removed copy's request that ends after the
// target came back counts in neither: its first such end bound the new copy's series and counted there).
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

interface Holding { url: string; id: string; held: ServerResponse[]; close (): Promise<void> }

/** Answers /fast at once and holds /slow until the test ends it. */
async function holdingUpstream (name: string): Promise<Holding> {
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    req.resume()
    if (req.url === '/slow') held.push(res)
    else res.end(name)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const id = `127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: `http://${id}`,
    id,
    held,
    close: () => {
      for (const res of held) if (!res.writableEnded) res.end()
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

t.test('a target removed and re-added twice with requests in flight: its counts stay the upstream\'s', async (t) => {
  const [a, b] = await Promise.all([holdingUpstream('A'), holdingUpstream('B')])
  const config = (targets: string[]): GatewayConfig => ({
    pools: { p: { targets, retry: { attempts: 1 }, outlier: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config([a.url])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(async () => { await a.close(); await b.close(); await gw.close() })
  const reload = async (targets: string[]): Promise<void> => {
    next = config(targets)
    t.equal((await gw.gateway.reload('admin')).result, 'success')
  }
  const statusOfA = () => gw.gateway.status().pools.p!.targets.find((x) => x.id === a.id)
  const seriesOfA = async (): Promise<{ inFlight: number | undefined; attempts: number }> => {
    const series = seriesOf(await gw.gateway.metrics!.render())
    let attempts = 0
    for (const [name, value] of Object.entries(series)) {
      if (name.startsWith('switchyard_upstream_attempts_total{') && name.includes(`target="${a.id}"`)) attempts += value
    }
    return { inFlight: series[key('switchyard_target_in_flight', { pool: 'p', target: a.id })], attempts }
  }
  const slow = (): Promise<number> => fetch(`${gw.url}/slow`).then(async (r) => { await r.arrayBuffer(); return r.status })

  const first = slow()
  await waitFor(() => a.held.length === 1)
  await reload([b.url]) // A removed, carrying the first
  await reload([a.url]) // A back, alone
  const second = slow()
  await waitFor(() => a.held.length === 2)
  await reload([b.url]) // removed again: two removed copies, one request each, one shared count
  t.match(statusOfA(), { state: 'draining', inFlight: 2 }, '/status: the two requests the upstream holds')
  t.equal((await seriesOfA()).inFlight, 2, 'target_in_flight: the same two')

  await reload([a.url, b.url]) // back again, both requests still in flight on removed copies
  t.match(statusOfA(), { inFlight: 2, requests: 0 })
  a.held[0]!.end('first')
  a.held[1]!.end('second')
  t.same(await Promise.all([first, second]), [200, 200])
  await waitFor(() => statusOfA()?.inFlight === 0)
  t.equal(statusOfA()?.requests, 0, 'the removed copies\' requests count in none of the new copy\'s counts')
  t.equal((await seriesOfA()).attempts, 0, 'nor in its attempts series')

  // the new copy counts its own, in both alike
  for (let i = 0; i < 4; i++) await fetch(`${gw.url}/fast`).then((r) => r.arrayBuffer())
  const requests = statusOfA()?.requests ?? 0
  t.ok(requests > 0, 'A took some of them')
  t.equal((await seriesOfA()).attempts, requests, 'its attempts series counts what /status counts')
})
