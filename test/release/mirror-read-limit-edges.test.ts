// The edges of a copy's read limit (MIRROR_READ_LIMIT_BYTES, src/proxy/mirror.ts onResponseData, review r43j):
// - an answer of exactly the limit is read whole and ends by itself: its connection stays for the next copy (only an
//   answer that goes past the limit has its connection dropped);
// - a large answer whose head says 502 (in failureStatuses) is counted as the target's `status` failure, as the whole
//   answer would have been, and reported error_status; a chunked one past the limit ends the same way;
// - each frees its mirror slot (maxConcurrent 1) and the target's count of attempts in flight.
import type { Socket } from 'node:net'
import t from 'tap'
import { MIRROR_READ_LIMIT_BYTES } from '../../src/proxy/mirror.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap, upstream } from '../proxy/setup.ts'

async function mirrorTo (t: Tap, answer: (res: import('node:http').ServerResponse, sockets: Set<Socket>) => void) {
  const main = await upstream(t, 'main')
  const sockets = new Set<Socket>()
  let closed = 0
  const { url: shadow } = await serveOnLoopback(t, (req, res) => {
    sockets.add(req.socket)
    req.socket.once('close', () => { closed++ })
    req.resume()
    answer(res, sockets)
  })
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow], timeouts: { requestMs: 30_000 }, outlier: { enabled: false } } },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100, maxConcurrent: 1 } }],
  }, { defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const runtime = gw.gateway.pools().get('shadow')!
  const target = runtime.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const mirrored = async (outcome: string): Promise<number | undefined> => (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]
  const attempts = async (outcome: string): Promise<number | undefined> => (await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
  return { gw, plan, target, sockets, closedCount: () => closed, mirrored, attempts }
}

t.test('an answer of exactly the limit ends by itself and leaves its connection for the next copy', async (t) => {
  const m = await mirrorTo(t, (res) => {
    res.writeHead(200, { 'content-length': String(MIRROR_READ_LIMIT_BYTES) })
    res.end(Buffer.alloc(MIRROR_READ_LIMIT_BYTES, 97))
  })
  t.equal((await httpRequest(`${m.gw.url}/api/1`)).status, 200)
  await waitFor(async () => await m.mirrored('sent') === 1, 5000)
  t.equal((await httpRequest(`${m.gw.url}/api/2`)).status, 200)
  await waitFor(async () => await m.mirrored('sent') === 2, 5000)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(m.sockets.size, 1, 'both copies on one connection')
  t.equal(m.closedCount(), 0, 'the connection was not dropped')
  t.equal(await m.attempts('success'), 2)
  t.equal(m.plan.mirrorsInFlight, 0)
  t.equal(m.target.inFlight, 0, 'no attempt left in flight on the target')
})

for (const chunked of [false, true]) {
  t.test(`a large ${chunked ? 'chunked ' : ''}5xx answer past the limit: the target's status failure, error_status, slot freed`, async (t) => {
    const m = await mirrorTo(t, (res) => {
      // an answer that goes on past the limit and never ends
      res.writeHead(502, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-length': String(MIRROR_READ_LIMIT_BYTES * 8) })
      res.write(Buffer.alloc(MIRROR_READ_LIMIT_BYTES * 2, 97))
    })
    t.equal((await httpRequest(`${m.gw.url}/api/1`)).status, 200)
    await waitFor(() => m.plan.mirrorsInFlight === 0, 5000)
    t.equal(await m.mirrored('error_status'), 1, 'reported error_status')
    t.equal(await m.attempts('status'), 1, 'counted as the target\'s status failure, as the whole answer would be')
    t.equal(await m.attempts('success'), undefined)
    await waitFor(() => m.closedCount() === 1, 5000)
    t.equal(m.target.inFlight, 0, 'no attempt left in flight on the target')
    t.equal((await httpRequest(`${m.gw.url}/api/2`)).status, 200)
    await waitFor(async () => await m.mirrored('error_status') === 2, 5000)
    t.equal(await m.mirrored('skipped_concurrency'), undefined, 'the slot was free for the next copy')
  })
}
