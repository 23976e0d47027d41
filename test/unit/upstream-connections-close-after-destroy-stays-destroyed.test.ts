// src/upstream/connections.ts: close() after destroy() has nothing to wait for and must not turn the destroyed
// connections back into merely closed ones: they stay destroyed, and later requests are still refused as destroyed.
import t from 'tap'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'

function refusal (pool: TargetConnections): string | undefined {
  let code: string | undefined
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {},
    onResponseError (_c, err) { code = (err as { code?: string }).code },
  }
  t.equal(pool.dispatch({ path: '/late', method: 'GET' }, handler), false)
  return code
}

t.test('destroy() then close(): still destroyed, requests refused UND_ERR_DESTROYED', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  await pool.destroy()
  await pool.close()
  t.equal(pool.destroyed, true)
  t.equal(pool.closed, true)
  t.equal(refusal(pool), 'UND_ERR_DESTROYED')
})
