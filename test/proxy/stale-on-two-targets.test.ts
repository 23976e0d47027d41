// A middlebox's idle expiry kills every kept-alive connection, to every target, and one pod died meanwhile. A request
// whose first try meets a dead connection to that pod goes back to it on a new connection (refused), then to the next
// target, whose kept-alive connection is dead too: that is a stale connection as well (one per target), not that
// target's failure, and the request goes again to it on a new one and is answered. With one stale connection per
// request, the second was counted as the target's failure and the request failed 502 (review r36e). And the try that
// went back to the dead pod, refused, goes elsewhere even when retryOn leaves connect failures out: without going back
// the request would have gone elsewhere at once (found by the tests written for the return).
import t from 'tap'
import { expiringUpstream, get, handshake } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

t.test('a stale connection on each of two targets, one of them dead', async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.expire()
  b.expire()
  a.die()
  const res = await get(`${gw.url}/after`)
  t.equal(res.status, 200, 'answered')
  t.equal(res.upstream, 'b', 'by b, on a new connection')
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  // a stale, a refused, b stale, b answered
  const line = gw.accessLogs().find((l) => l.path === '/after')!
  t.match(line, { status: 200, attempts: 4 })
  t.strictSame(line.targets, [a.url, a.url, b.url, b.url])
  const bStatus = gw.gateway.pools().get('p')!.pool.targets.find((x) => x.url === b.url)!
  t.equal(gw.gateway.status().pools.p!.targets.find((x) => x.url === bStatus.url)!.failures, 0, "b's stale connection is no failure of b's")
})

t.test("the try back to a dead pod, refused, goes elsewhere though retryOn leaves connect failures out", async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, retryOn: ['reset', 502, 503, 504], backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.die()
  const res = await get(`${gw.url}/after`)
  t.equal(res.status, 200, 'answered')
  t.equal(res.upstream, 'b', 'by b')
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  const line = gw.accessLogs().find((l) => l.path === '/after')!
  t.match(line, { status: 200, attempts: 3 })
  t.strictSame(line.targets, [a.url, a.url, b.url])
})

t.test('a WebSocket handshake alike: stale on each of two targets, one of them dead', async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.expire()
  b.expire()
  a.die()
  const res = await handshake(gw.url)
  t.equal(res.status, 101, 'switched')
  t.equal(res.upstream, 'b', 'by b, on a new connection')
})

t.test("a handshake back to a dead pod, refused, goes elsewhere though retryOn leaves connect failures out", async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, retryOn: ['reset', 502, 503, 504], backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.die()
  const res = await handshake(gw.url)
  t.equal(res.status, 101, 'switched')
  t.equal(res.upstream, 'b', 'by b')
})
