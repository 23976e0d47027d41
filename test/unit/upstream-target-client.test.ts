// A target's traffic pool (src/upstream/target.ts) is made on first use, once; after close() or destroy() a pool
// first asked for then refuses requests as the closed one would have. A destroy() while a close() still waits for a
// request in flight cuts that request (the close waits for nothing more): destroy is how a caller stops waiting.
// close() after destroy() resolves: a target ends once, however it is asked (undici's close() of a destroyed client
// rejects, and a pool's close() awaits every target's).
import { once } from 'node:events'
import t from 'tap'
import { Target } from '../../src/upstream/target.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'
import { poolConfig } from './config-fixtures.ts'

const config = poolConfig({ targets: [{ url: 'http://127.0.0.1:1' }] })

/** The error code a dispatch through the target's pool ends with. */
function dispatchError (target: Target): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      target.client.dispatch({ origin: target.url, path: '/', method: 'GET' }, {
        onRequestStart () {},
        onResponseStart () {},
        onResponseData () {},
        onResponseEnd () { resolve(undefined) },
        onResponseError (_controller: unknown, err: Error & { code?: string }) { resolve(err.code) },
      })
    } catch (err) {
      resolve((err as { code?: string }).code)
    }
  })
}

t.test('made once, on first use', async (t) => {
  const target = new Target(config.targets[0]!, config)
  t.teardown(() => target.destroy())
  const first = target.client
  t.equal(target.client, first)
  t.equal(first.closed, false)
})

t.test('never used: close() and destroy() need no pool', async (t) => {
  const target = new Target(config.targets[0]!, config)
  await target.close()
  await target.destroy()
  t.pass()
})

t.test('first asked for after close(): closed', async (t) => {
  const target = new Target(config.targets[0]!, config)
  await target.close()
  t.equal(target.client.closed, true)
  t.equal(await dispatchError(target), 'UND_ERR_CLOSED')
})

t.test('first asked for after destroy(): destroyed', async (t) => {
  const target = new Target(config.targets[0]!, config)
  await target.destroy()
  t.equal(target.client.destroyed, true)
  t.equal(await dispatchError(target), 'UND_ERR_DESTROYED')
})

t.test('used, then closed: the same pool is closed', async (t) => {
  const target = new Target(config.targets[0]!, config)
  const used = target.client
  await target.close()
  t.equal(used.closed, true)
  t.equal(target.client, used)
})

t.test('destroy() while close() waits for a request in flight: the request is cut', async (t) => {
  const up = await TestUpstream.start()
  up.mode = 'hang'
  t.teardown(() => up.close())
  // the request's own limits at 5 s: a destroy() that left the close waiting would see it end by them, not cut
  const hanging = poolConfig({ targets: [up.url], timeouts: { requestMs: 5000, idleMs: 5000 } })
  const target = new Target(hanging.targets[0]!, hanging)
  const received = once(up.server, 'request')
  const outcome = get(target.client, '/a')
  await received
  const closing = target.close()
  await target.destroy()
  t.equal(await outcome, 'UND_ERR_DESTROYED', 'cut by the destroy')
  await closing
  t.equal(target.client.destroyed, true)
})
