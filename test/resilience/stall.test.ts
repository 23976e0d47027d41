// A stall of the gateway's own (a long collection, a burst of synchronous work) is never blamed on a target:
// when the stall ends, a probe's or an attempt's timeout timer runs before the loop reads the answer that has
// been waiting in the socket. The verdict waits that one turn. Real timers here: the phases of the loop are the point.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, runtime } from './_util.ts'

const TIMEOUT_MS = 200
const STALL_MS = 2 * TIMEOUT_MS

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/**
 * An upstream in this process that answers at once; the first request for which `stallsOn` is true is answered
 * and then blocks the process (so the gateway's event loop too) for STALL_MS.
 */
async function stallingUpstream (t: Tap, stallsOn: (url: string) => boolean): Promise<{ url: string; stalled: () => number }> {
  let stalled = 0
  const upstream = createServer((req, res) => {
    res.end('ok')
    if (stallsOn(req.url ?? '') && stalled++ === 0) {
      const until = Date.now() + STALL_MS
      while (Date.now() < until) { /* the stall */ }
    }
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, stalled: () => stalled }
}

t.test('an answer that arrived during a stall longer than timeoutMs counts: the target stays healthy', async (t) => {
  const { url, stalled } = await stallingUpstream(t, (path) => path === '/health')
  const gw = await gateway(t, {
    pools: { api: { targets: [url], healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: TIMEOUT_MS, unhealthyThreshold: 1, jitter: 0 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [], { random: () => 0 })
  const rt = runtime(gw, 'api')
  const target = rt.pool.targets[0]!
  await waitFor(() => rt.health!.lastResult(target) !== undefined)
  t.equal(stalled(), 1, 'the first probe stalled the process for twice its timeout')
  t.match(rt.health!.lastResult(target), { ok: true, status: 200 }, 'and still counts as answered')
  t.equal(rt.pool.status(target).healthy, true)
})

t.test('an answer that arrived during a stall longer than the request deadline is passed on, not a 504', async (t) => {
  const { url, stalled } = await stallingUpstream(t, () => true)
  const gw = await gateway(t, {
    pools: { api: { targets: [url], retry: { attempts: 1 }, timeouts: { requestMs: TIMEOUT_MS } } },
    routes: [{ path: '/', pool: 'api' }],
  }, [])
  const reply = await call(gw.url, '/x')
  t.equal(stalled(), 1)
  t.equal(reply.status, 200)
  t.equal(reply.text, 'ok')
})
