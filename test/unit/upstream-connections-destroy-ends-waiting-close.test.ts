// src/upstream/connections.ts: close() waits for the queue to empty; destroy() fails what is queued, so a close()
// already waiting must then resolve too (a shutdown that escalates from close to destroy must not hang).
import t from 'tap'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('destroy() while close() waits for the queue: both resolve, the queued request fails', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  up.mode = 'hang'
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  const errors: string[] = []
  const handler = (): Dispatcher.DispatchHandler => ({
    onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {},
    onResponseError (_c, err) { errors.push((err as { code?: string }).code ?? 'error') },
  })
  const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
  pool.dispatch({ path: '/hangs', method: 'GET' }, handler())
  pool.dispatch({ path: '/queued', method: 'GET' }, handler())
  await arrived
  let closed = false
  const closing = pool.close().then(() => { closed = true })
  await pool.destroy()
  t.same(errors.sort(), ['UND_ERR_DESTROYED', 'UND_ERR_DESTROYED'])
  // an upper bound only: close() has nothing left to wait for once destroy() resolved
  let timer: NodeJS.Timeout | undefined
  await Promise.race([closing, new Promise((resolve) => { timer = setTimeout(resolve, 1000) })])
  clearTimeout(timer)
  t.equal(closed, true, 'the waiting close() resolved')
})
