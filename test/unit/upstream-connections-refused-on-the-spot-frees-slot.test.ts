// src/upstream/connections.ts: a request undici refuses on the spot (invalid options) fails through its handler and
// dispatch() returns true; no 'drain' will ever come for it, so the connection slot it took must be free again at once,
// or the target loses a connection for good (with a limit of 1: every later request waits forever). The same for a
// queued request that configure() (a raised limit) hands to a new connection and undici refuses there.
import t from 'tap'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'

interface Outcome { status?: number; error?: string }

function get (pool: TargetConnections, path: string, headers?: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = {}
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, status) { outcome.status = status },
      onResponseData () {},
      onResponseEnd () { resolve(outcome) },
      onResponseError (_c, err) { outcome.error = (err as { code?: string }).code ?? 'error'; resolve(outcome) },
    }
    pool.dispatch({ path, method: 'GET', headers }, handler)
  })
}

t.test('a request refused on the spot (handler does not throw) leaves the only connection slot free', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  // undici refuses a Transfer-Encoding request header before it takes the request
  const bad = await get(pool, '/bad', ['transfer-encoding', 'chunked'])
  t.equal(bad.error, 'UND_ERR_INVALID_ARG', 'refused on the spot')
  t.equal(up.hits, 0)
  const next = get(pool, '/next')
  t.equal(pool.queued, 0, 'the next request takes the slot at once instead of waiting for a drain that never comes')
  if (pool.queued !== 0) return
  t.equal((await next).status, 200)
  t.equal(up.hits, 1)
})

t.test('a queued request refused on the spot when a raised limit starts it does not hold the new slot', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  up.mode = 'hang'
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
  void get(pool, '/holds-the-only-connection')
  await arrived
  const bad = get(pool, '/bad', ['transfer-encoding', 'chunked'])
  t.equal(pool.queued, 1)
  pool.configure({ connections: 2, keepAliveTimeout: 10_000 })
  t.equal((await bad).error, 'UND_ERR_INVALID_ARG', 'started on the new slot and refused there')
  up.mode = 'answer'
  const next = get(pool, '/next')
  t.equal(pool.queued, 0, 'the second slot is free for the next request')
  if (pool.queued !== 0) return
  t.equal((await next).status, 200)
})
