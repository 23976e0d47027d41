// A read of a split route whose replica hangs: the primary serves it once the replica's attempt has had its
// perTryTimeoutMs, even when the replica pool retries nothing after a timeout (attempts 1, or 'timeout' not in
// retryOn). No replica attempt is the last one (the primary follows), so none may take the replica pool's whole
// requestMs: the client would wait out a hung replica's full deadline before the primary is even asked.
// (src/proxy/attempt.ts: `retriedAfterTimeout || this.#fallbackFollows` picks the per-try timeout.)
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type PoolSettings = Omit<GatewayConfig['pools'][string], 'targets'>

const cases: Array<[string, PoolSettings['retry']]> = [
  ['attempts 1', { attempts: 1, perTryTimeoutMs: 300 }],
  ['timeout not in retryOn', { attempts: 3, perTryTimeoutMs: 300, retryOn: ['connect-failure', 'reset', 503] }],
]

for (const [name, retry] of cases) {
  t.test(`a hung replica (${name}) holds the read for perTryTimeoutMs, not the replica pool's requestMs`, async (t) => {
    const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
    replica.mode = 'hang'
    const gw = await startGateway({
      pools: {
        main: { targets: [primary.url] },
        replicas: { targets: [replica.url], outlier: { enabled: false }, circuitBreaker: { enabled: false }, timeouts: { requestMs: 8000 }, retry },
      },
      routes: [{ path: '/', pool: 'main', reads: { pool: 'replicas' } }],
    }, { defaultMetrics: false })
    t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
    const started = performance.now()
    const res = await fetch(`${gw.url}/x`)
    await res.arrayBuffer()
    const tookMs = performance.now() - started
    t.equal(res.status, 200, 'the primary answered')
    t.equal(res.headers.get('x-upstream'), 'primary')
    t.equal(replica.requests.length, 1, 'the replica had the read first')
    t.ok(tookMs < 4000, `answered after the replica's per-try timeout (${Math.round(tookMs)} ms), not its 8 s requestMs`)
  })
}
