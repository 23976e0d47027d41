// src/upstream/connections.ts close(): what is queued is still sent. Withdrawing one queued request while another
// still waits must not let close() go on: the one left is sent, answered, and only then does close() resolve.
import t from 'tap'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'

interface Outcome { status?: number; error?: string; settled: boolean }

function send (pool: TargetConnections, path: string): { outcome: Outcome, handler: Dispatcher.DispatchHandler } {
  const outcome: Outcome = { settled: false }
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart () {},
    onResponseStart (_c, status) { outcome.status = status },
    onResponseData () {},
    onResponseEnd () { outcome.settled = true },
    onResponseError (_c, err) { outcome.error = (err as { code?: string }).code ?? 'error'; outcome.settled = true },
  }
  pool.dispatch({ path, method: 'GET' }, handler)
  return { outcome, handler }
}

t.test('close() with two queued: withdrawing one still sends the other before close() resolves', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  up.delayMs = 30
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  const first = send(pool, '/first')
  const second = send(pool, '/second')
  const third = send(pool, '/third')
  t.equal(pool.queued, 2)
  const closing = pool.close()
  t.equal(pool.withdraw(third.handler), true)
  t.equal(pool.queued, 1, 'one still waits')
  await closing
  t.same([first.outcome.status, second.outcome.status], [200, 200], 'the one left in the queue was sent before close() resolved')
  t.same(up.requests.map((r) => r.url), ['/first', '/second'])
  t.equal(third.outcome.settled, false, 'the withdrawn one heard nothing')
})
