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
import { portOf } from '../proxy/raw.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'

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
    // a backoff long enough for the reload to finish within it on a loaded host (its first run compiles its steps)
    pools: { failing: { targets: [failing.url], retry: { attempts: 2, backoff: { baseMs: 2000, maxMs: 2000 } } }, other: { targets: [other.url] } },
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

// /status removedPools: a pool rebuilt by a reload (same name, other settings) is not a removed one; a name removed
// twice while requests of both runtimes run is listed once with their requests together; a removed pool's tunnels are
// counted once per upstream though the target had an older copy (a weight change) before the pool was removed.
t.test('removed-pools-status-more', async (t) => {
  t.test('a pool a reload rebuilt (same name, new settings) with a request in flight is not listed as removed', async (t) => {
    const slow = await TestUpstream.start({ name: 'slow' })
    const cfg = (requestMs: number): GatewayConfig => ({
      pools: { slow: { targets: [slow.url], timeouts: { requestMs } } },
      routes: [{ path: '/', pool: 'slow' }],
    })
    let next = cfg(10_000)
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(async () => { await gw.close(); await slow.close() })
    slow.delayMs = 600
    const answer = request(`${gw.url}/slow`)
    await waitFor(() => slow.requests.length === 1)
    next = cfg(20_000)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.same(gw.gateway.status().removedPools, {}, 'a rebuilt pool is not a removed one')
    t.equal(gw.gateway.status().pools.slow!.targets[0]!.inFlight, 1, 'its request is counted under pools')
    const res = await answer
    t.equal(res.statusCode, 200)
    await res.body.text()
  })

  t.test('a name removed twice while requests of both runtimes run: listed once, their requests together', async (t) => {
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
    slow.delayMs = 1000
    const first = request(`${gw.url}/slow`)
    await waitFor(() => slow.requests.length === 1)
    next = onlyOther
    t.equal((await gw.gateway.reload()).result, 'success')
    next = both
    t.equal((await gw.gateway.reload()).result, 'success')
    const second = request(`${gw.url}/slow`)
    await waitFor(() => slow.requests.length === 2)
    next = onlyOther
    t.equal((await gw.gateway.reload()).result, 'success')
    t.same(gw.gateway.status().removedPools, { slow: { inFlight: 2, tunnels: 0 } }, 'both removed runtimes\' requests, added up')
    for (const answer of [first, second]) {
      const res = await answer
      t.equal(res.statusCode, 200)
      await res.body.text()
    }
    await waitFor(() => Object.keys(gw.gateway.status().removedPools).length === 0)
  })

  t.test("a removed pool's tunnel is counted once though its target had an older copy", async (t) => {
    const a = await TestUpstream.start({ name: 'a' })
    const b = await TestUpstream.start({ name: 'b' })
    const base: GatewayConfig = {
      pools: { ws: { targets: [a.url] }, other: { targets: [b.url] } },
      routes: [{ path: '/ws', pool: 'ws' }, { path: '/', pool: 'other' }],
    }
    let next = base
    const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
    t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
    const tunnel = await openTunnel(t, portOf(gw.url), '/ws')
    // a new weight: a new copy of the target, sharing the old one's counts
    next = { ...base, pools: { ws: { targets: [{ url: a.url, weight: 3 }] }, other: { targets: [b.url] } } }
    t.equal((await gw.gateway.reload()).result, 'success')
    // a second tunnel, through the new copy: both copies now hold one, and each copy sees the upstream's 2
    const second = await openTunnel(t, portOf(gw.url), '/ws')
    next = { pools: { other: { targets: [b.url] } }, routes: [{ path: '/', pool: 'other' }] }
    t.equal((await gw.gateway.reload()).result, 'success')
    await tunnel.roundTrip('after its pool was removed')
    await second.roundTrip('after its pool was removed')
    t.same(gw.gateway.status().removedPools, { ws: { inFlight: 2, tunnels: 2 } }, 'two tunnels, each counted once')
    tunnel.socket.destroy()
    second.socket.destroy()
    await waitFor(() => a.tunnels.size === 0)
    await waitFor(() => Object.keys(gw.gateway.status().removedPools).length === 0)
  })
})
