// A target's connections (src/upstream/connections.ts) let go of a free connection's Client once its socket closed
// (keep-alive ended it, or the upstream did). Before, every connection a burst ever opened kept its Client (~3 KB)
// for good: up to maxPerTarget per target, since the most recently freed is reused first and the rest never are.
// A connection still carrying a request, or taking a queued one when its socket closed, is kept and serves it.
import t from 'tap'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { HasTeardown } from '../proxy/setup.ts'

/** Dispatches one GET; resolves with its status, or its error code. */
function get (pool: TargetConnections, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, code) { status = code },
      onResponseData () {},
      onResponseEnd () { resolve(status) },
      onResponseError (_c, err) { resolve((err as { code?: string }).code ?? err.message) },
    }
    pool.dispatch({ path, method: 'GET' }, handler)
  })
}

async function upstream (t: HasTeardown): Promise<{ up: TestUpstream, open: Set<Socket>, opened: () => number }> {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const open = new Set<Socket>()
  let opened = 0
  up.server.on('connection', (s: Socket) => {
    opened++
    open.add(s)
    s.once('close', () => open.delete(s))
  })
  return { up, open, opened: () => opened }
}

t.test('after a burst, the idle connections keep-alive closed are let go; the next burst opens new ones', async (t) => {
  const { up, open, opened } = await upstream(t)
  up.delayMs = 50 // the requests overlap: one connection each
  const pool = new TargetConnections(up.url, { connections: 8, keepAliveTimeout: 200, keepAliveMaxTimeout: 200 })
  t.teardown(() => pool.destroy())

  t.same(await Promise.all(Array.from({ length: 8 }, (_, i) => get(pool, `/a/${i}`))), Array(8).fill(200))
  t.equal(opened(), 8)
  t.equal(pool.clients, 8, 'one client per connection while they are kept alive')

  await waitFor(() => open.size === 0, 5000)
  await waitFor(() => pool.clients === 0, 2000).catch(() => {})
  t.equal(pool.clients, 0, 'no client is held once its connection closed')
  t.equal(pool.connected, 0)

  t.same(await Promise.all(Array.from({ length: 8 }, (_, i) => get(pool, `/b/${i}`))), Array(8).fill(200), 'the next burst is served')
  t.equal(opened(), 16, 'on new connections')
  t.equal(pool.clients, 8, 'never more than the limit')
  t.equal(pool.connected, 8)
})

t.test('a connection the upstream closes after each answer still serves the requests queued for it', async (t) => {
  const { up, open, opened } = await upstream(t)
  up.delayMs = 20
  up.responseHeaders = { connection: 'close' }
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  const held: number[] = []
  up.server.on('request', () => { held.push(pool.clients) })

  // one in flight, two queued behind it: each answer closes its connection while the next one waits
  const outcomes = Promise.all([get(pool, '/1'), get(pool, '/2'), get(pool, '/3')])
  t.equal(pool.queued, 2)
  t.same(await outcomes, [200, 200, 200], 'every request answered')
  t.same(up.requests.map((r) => r.url), ['/1', '/2', '/3'], 'in order')
  t.equal(opened(), 3, 'a new connection for each')
  t.same(held, [1, 1, 1], 'one client at a time, never more than the limit')
  t.equal(pool.queued, 0)

  await waitFor(() => open.size === 0, 5000)
  await waitFor(() => pool.clients === 0, 2000).catch(() => {})
  t.equal(pool.clients, 0, 'the last one is let go once it is free and closed')
  t.equal(await get(pool, '/4'), 200, 'a later request gets a new connection')
})
