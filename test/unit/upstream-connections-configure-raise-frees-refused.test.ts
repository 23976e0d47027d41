// src/upstream/connections.ts: a queued request that configure() (a raised limit) hands to a new connection, and that
// undici refuses on the spot (invalid options), must leave that connection slot free: no 'drain' will come for it.
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
