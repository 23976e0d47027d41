// A copy's answer is read only so far (MIRROR_READ_LIMIT_BYTES): past it the copy ends, counted by its status, and
// its connection is dropped with the rest of the answer. Read whole, 64 copies of a 200 MiB answer took the gateway's
// CPU from every route (review r43j: a mirrored route's neighbours at 6-10 s a request); a copy whose answer never
// ended held its slot (maxConcurrent) until the mirror pool's deadline.
import t from 'tap'
import { MIRROR_READ_LIMIT_BYTES } from '../../src/proxy/mirror.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('a copy whose answer goes on past the limit ends there, sent, and frees its slot', async (t) => {
  const main = await upstream(t, 'main')
  let shadowClosed = 0
  // an answer that never ends: the limit's worth and more, then nothing
  const { url: shadow } = await serveOnLoopback(t, (_req, res) => {
    res.on('close', () => { shadowClosed++ })
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(Buffer.alloc(MIRROR_READ_LIMIT_BYTES * 2))
  })
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow], timeouts: { requestMs: 30_000 } } },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100, maxConcurrent: 1 } }],
  }, { defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const mirrored = async (outcome: string): Promise<number | undefined> =>
    seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]
  t.equal((await httpRequest(`${gw.url}/api/1`)).status, 200)
  await waitFor(() => plan.mirrorsInFlight === 0, 5000)
  t.equal(await mirrored('sent'), 1, 'counted by its status')
  await waitFor(() => shadowClosed === 1, 5000)
  t.pass('its connection dropped with the rest of the answer')
  t.equal((await httpRequest(`${gw.url}/api/2`)).status, 200)
  await waitFor(async () => await mirrored('sent') === 2, 5000)
  t.equal(await mirrored('skipped_concurrency'), undefined, 'the slot was free for the next copy')
})
