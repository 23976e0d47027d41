// Belongs in test/proxy/. Gaps found by mutation testing (review r36) in what follows a stale kept-alive connection
// (src/proxy/attempt.ts, retry-loop.ts, same-targets.ts availableAgain, upgrade-attempt.ts):
// - the first stale connection closes the target's other idle ones: a burst after it finds none dead (AF86, AF41);
// - the try after it goes back to its target only while that target may take requests: one disabled meanwhile is
//   left for another (AF84, AF32);
// - a handshake goes back to its stale target as a request does, whatever the balancer would pick next (AF90, AF47);
// - a handshake's new connection is forced only to its stale target: the next target's kept-alive one serves it
//   (AF89, AF44);
// - only the try back to the stale target that cannot connect goes elsewhere whatever retryOn says: another target
//   that refuses, tried after it, is a connect failure as retryOn has it (AF79);
// - so does the try back to a second stale target that cannot connect, as the first (AF108);
// - every stale try is uncounted, one per target: with attempts 2, stale on two targets (one of them dead), a request
//   and a handshake are still answered (AF107, AF87).
import t from 'tap'
import { expiringUpstream, get, handshake } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, refusedUrl } from './setup.ts'

const BACKOFF = { baseMs: 1, maxMs: 2 }

t.test('after the first stale connection, a burst finds no other dead one', async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const gw = await gateway(t, { pools: { p: { targets: [a.url], retry: { attempts: 2, backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  // requests at once: several kept-alive connections
  await Promise.all(Array.from({ length: 10 }, () => get(`${gw.url}/warm`)))
  t.ok(a.connections() >= 3, `several connections kept (${a.connections()})`)
  a.expire()
  t.equal((await get(`${gw.url}/first`)).status, 200)
  const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`${gw.url}/burst${i}`).then((r) => r.status)))
  t.strictSame(statuses, Array(10).fill(200))
  await waitFor(() => gw.accessLogs().filter((l) => String(l.path).startsWith('/burst')).length === 10)
  t.match(gw.accessLogs().find((l) => l.path === '/first'), { attempts: 2 }, 'the first met a dead connection')
  t.strictSame(gw.accessLogs().filter((l) => String(l.path).startsWith('/burst')).map((l) => l.attempts), Array(10).fill(1), 'none of the burst did')
})

t.test('the try after a stale connection goes elsewhere when its target was disabled meanwhile', async (t) => {
  const a = await expiringUpstream(t, { name: 'a', holdExpired: true })
  const b = await expiringUpstream(t, { name: 'b', holdExpired: true })
  const gw = await gateway(t, { pools: { p: { targets: [a.url, b.url], retry: { attempts: 2, backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.expire()
  const answer = get(`${gw.url}/after`)
  await waitFor(() => a.held.length === 1)
  // the admin API's disable, while the request is out on a's dead connection
  const pool = gw.gateway.pools().get('p')!.pool
  pool.setStatus(pool.targets.find((x) => x.url === a.url)!, { disabled: true })
  a.resetHeld()
  const res = await answer
  t.equal(res.status, 200)
  t.equal(res.upstream, 'b', 'not back to the disabled target')
})

t.test('a handshake after a stale connection goes back to its target, as a request does', async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, { pools: { p: { targets: [a.url, b.url], retry: { attempts: 2, backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  a.expire()
  const res = await handshake(gw.url) // round robin: a's turn
  t.equal(res.status, 101)
  t.equal(res.upstream, 'a', 'a again, on a new connection (round robin would have picked b)')
})

t.test("a handshake whose stale target refuses goes to the next target's kept-alive connection", async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, { pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
  t.equal(b.connections(), 1)
  a.expire()
  a.die()
  const res = await handshake(gw.url)
  t.equal(res.status, 101)
  t.equal(res.upstream, 'b')
  t.equal(b.connections(), 1, "b's kept-alive connection took it: no new one")
})

t.test('attempts 2: stale connections on two targets, one dead, are both uncounted', async (t) => {
  for (const kind of ['request', 'handshake'] as const) {
    const a = await expiringUpstream(t, { name: 'a' })
    const b = await expiringUpstream(t, { name: 'b' })
    const gw = await gateway(t, { pools: { p: { targets: [a.url, b.url], retry: { attempts: 2, backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a')
    t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b')
    a.expire()
    b.expire()
    a.die()
    // a stale, a refused (counted), b stale, b on a new connection (counted)
    const res = kind === 'request' ? await get(`${gw.url}/after`) : await handshake(gw.url)
    t.equal(res.status, kind === 'request' ? 200 : 101, `${kind}: answered`)
    t.equal(res.upstream, 'b', `${kind}: by b`)
  }
})


t.test('after a stale connection, another target that refuses is a connect failure as retryOn has it', async (t) => {
  const a = await expiringUpstream(t, { name: 'a', holdExpired: true })
  const b = await refusedUrl()
  const c = await expiringUpstream(t, { name: 'c', holdExpired: true })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b, c.url], retry: { attempts: 3, retryOn: ['reset', 502, 503, 504], backoff: BACKOFF } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  // round robin: a, b (refused, not retried: 502), c
  t.strictSame([(await get(`${gw.url}/warm-a`)).upstream, (await get(`${gw.url}/warm-b`)).status, (await get(`${gw.url}/warm-c`)).upstream], ['a', 502, 'c'])
  a.expire()
  const answer = get(`${gw.url}/after`)
  await waitFor(() => a.held.length === 1)
  const pool = gw.gateway.pools().get('p')!.pool
  pool.setStatus(pool.targets.find((x) => x.url === a.url)!, { disabled: true })
  a.resetHeld()
  // a stale (disabled meanwhile: not tried again), then b: refused, and connect failures are not retried here
  t.equal((await answer).status, 502)
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  t.strictSame(gw.accessLogs().find((l) => l.path === '/after')?.targets, [a.url, b])
})

t.test('two dead pods in a row, each stale then refused: both tries back go elsewhere whatever retryOn says', async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const c = await expiringUpstream(t, { name: 'c' })
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url, c.url], retry: { attempts: 3, retryOn: ['reset', 502, 503, 504], backoff: BACKOFF } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  for (const name of ['a', 'b', 'c']) t.equal((await get(`${gw.url}/warm-${name}`)).upstream, name)
  a.expire()
  b.expire()
  a.die()
  b.die()
  const res = await get(`${gw.url}/after`)
  t.equal(res.status, 200)
  t.equal(res.upstream, 'c')
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  t.strictSame(gw.accessLogs().find((l) => l.path === '/after')?.targets, [a.url, a.url, b.url, b.url, c.url], 'a stale, a refused, b stale, b refused, c')
})
