// A reload that removes a pool while requests to it are in flight: they finish on its targets, and /status lists
// them under removedPools until they end (they vanished from /status, so nothing said the reload was still
// draining). A request waiting out a retry's backoff is one of them; a pool whose name comes back meanwhile is
// listed under pools with what it carries, and the removed one under removedPools with what it still carries.
import { request } from 'undici'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a removed pool with a request in flight is listed until the request ends', async (t) => {
  const slow = await TestUpstream.start({ name: 'slow' })
  const other = await TestUpstream.start({ name: 'other' })
  const both: GatewayConfig = {
    pools: { slow: { targets: [slow.url] }, other: { targets: [other.url] } },
    routes: [{ path: '/slow', pool: 'slow' }, { path: '/', pool: 'other' }],
  }
  const onlyOther: GatewayConfig = { pools: { other: { targets: [other.url] } }, routes: [{ path: '/', pool: 'other' }] }
  let next = both
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(async () => { await gw.close(); await slow.close(); await other.close() })
  t.same(gw.gateway.status().removedPools, {}, 'none at start')

  slow.delayMs = 800
  const answer = request(`${gw.url}/slow`)
  await waitFor(() => slow.requests.length === 1)
  next = onlyOther
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(gw.gateway.status().pools.slow, undefined, 'the pool is gone from pools')
  t.same(gw.gateway.status().removedPools, { slow: { inFlight: 1, tunnels: 0 } }, 'its request is listed under its name')

  // the name comes back while the old request runs: the new pool has none in flight, the removed one still has it
  next = both
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(gw.gateway.status().pools.slow!.targets[0]!.inFlight, 0, 'the pool added back has none of it')
  t.same(gw.gateway.status().removedPools, { slow: { inFlight: 1, tunnels: 0 } }, 'the removed one is still listed')
  next = onlyOther
  t.equal((await gw.gateway.reload()).result, 'success')

  const res = await answer
  t.equal(res.statusCode, 200, 'the request admitted before the reload finished')
  await res.body.text()
  await waitFor(() => Object.keys(gw.gateway.status().removedPools).length === 0)
  t.same(gw.gateway.status().removedPools, {}, 'listed no more once it ended')
})

t.test("a request waiting out a retry's backoff is counted", async (t) => {
  const failing = await TestUpstream.start({ name: 'failing' })
  const other = await TestUpstream.start({ name: 'other' })
  const both: GatewayConfig = {
    pools: { failing: { targets: [failing.url], retry: { attempts: 2, backoff: { baseMs: 600, maxMs: 600 } } }, other: { targets: [other.url] } },
    routes: [{ path: '/failing', pool: 'failing' }, { path: '/', pool: 'other' }],
  }
  let next = both
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(async () => { await gw.close(); await failing.close(); await other.close() })
  failing.failCount = 1
  const answer = request(`${gw.url}/failing`)
  await waitFor(() => failing.requests.length === 1) // the first attempt failed: the retry waits its backoff
  next = { pools: { other: { targets: [other.url] } }, routes: [{ path: '/', pool: 'other' }] }
  t.equal((await gw.gateway.reload()).result, 'success')
  t.same(gw.gateway.status().removedPools, { failing: { inFlight: 1, tunnels: 0 } }, 'listed while it holds no target')
  const res = await answer
  t.equal(res.statusCode, 200, 'the retry went to the removed pool\'s target')
  await res.body.text()
  await waitFor(() => Object.keys(gw.gateway.status().removedPools).length === 0)
  t.pass('listed no more once it ended')
})
