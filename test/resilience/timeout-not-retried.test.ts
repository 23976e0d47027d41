// The per-try timeout is there to leave time for a retry. An attempt that a timeout could not be retried after (a
// POST or PATCH without an Idempotency-Key, or a pool whose retryOn leaves 'timeout' out) gets the whole remaining
// request deadline instead: it used to be cut at perTryTimeoutMs with a 504, while the upstream went on to complete
// the side effect the client was told had failed.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const SLOW_MS = 600

async function gatewayFor (t: Tap, retry: Record<string, unknown>): Promise<{ url: string; upstream: TestUpstream }> {
  const upstream = await TestUpstream.start({ name: 'slow' })
  upstream.delayMs = SLOW_MS
  const config: GatewayConfig = {
    pools: { p: { targets: [upstream.url], retry: { perTryTimeoutMs: 200, ...retry }, outlier: { enabled: false }, timeouts: { requestMs: 5000 } } },
    routes: [{ path: '/', pool: 'p' }],
  }
  const gw = await startGateway(config, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await upstream.close() })
  return { url: gw.url, upstream }
}

t.test('a POST or PATCH without an Idempotency-Key waits for its answer within requestMs', async (t) => {
  const { url, upstream } = await gatewayFor(t, {})
  for (const method of ['POST', 'PATCH']) {
    const res = await fetch(`${url}/orders`, { method, body: '{"n":1}', headers: { 'content-type': 'application/json' } })
    t.equal(res.status, 200, `${method}: answered, not 504 at perTryTimeoutMs`)
    await res.arrayBuffer()
  }
  t.equal(upstream.requests.length, 2, 'each sent once')
})

t.test("a GET in a pool that does not retry timeouts waits for its answer too", async (t) => {
  const { url, upstream } = await gatewayFor(t, { retryOn: ['connect-failure', 'reset', 503] })
  const res = await fetch(`${url}/slow`)
  t.equal(res.status, 200)
  await res.arrayBuffer()
  t.equal(upstream.requests.length, 1)
})

t.test('a GET whose timeout is retried is still cut at perTryTimeoutMs', async (t) => {
  const { url, upstream } = await gatewayFor(t, { attempts: 2 })
  const started = performance.now()
  const res = await fetch(`${url}/slow`)
  await res.arrayBuffer()
  // the first attempt times out at 200 ms, the last one gets the rest of the deadline and is answered
  t.equal(res.status, 200)
  t.equal(upstream.requests.length, 2, 'timed out once, then retried')
  t.ok(performance.now() - started >= 200 + SLOW_MS - 50, 'the retry came after the per-try timeout')
})
