// A retry waiting while a reload rebuilds its pool goes out with the Host the running pool's preserveHost says:
// the client's Host once preserveHost is turned on, the target's once it is turned off, never the replaced pool's
// choice nor both. (src/proxy/retry-loop.ts, #follow: `ex.rehost(...)`.)
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type PoolSpec = GatewayConfig['pools'][string]

function pool (a: TestUpstream, b: TestUpstream, preserveHost: boolean): PoolSpec {
  // B's tiny weight: round-robin sends the first attempt to A, and only the retry (which avoids A) to B; the retry
  // waits out Retry-After (1 s) on the gateway's clock: time for the reload
  return {
    targets: [{ url: a.url }, { url: b.url, weight: 0.001 }],
    preserveHost,
    retry: { backoff: { baseMs: 25, maxMs: 2000 }, perTryTimeoutMs: 5000 },
    outlier: { enabled: false },
  }
}

async function retryAcrossReload (t: Test, before: boolean, after: boolean): Promise<{ status: number; hostHeaders: string[] }> {
  const a = await TestUpstream.start({ name: 'A' })
  const b = await TestUpstream.start({ name: 'B' })
  let current: GatewayConfig = { pools: { p: pool(a, b, before) }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await startGateway(current, { defaultMetrics: false, load: async () => validateConfig(current) })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
  a.failCount = 1
  a.failStatus = 503
  a.failHeaders = { 'retry-after': '1' }
  const pending = httpRequest(`${gw.url}/x`, { headers: { host: 'shop.example' } })
  await waitFor(() => a.requests.length === 1)
  t.equal(b.requests.length, 0, 'the first attempt went to A; the retry waits')
  current = { pools: { p: pool(a, b, after) }, routes: [{ path: '/', pool: 'p' }] }
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  const res = await pending
  t.equal(a.requests[0]!.headers.host, before ? 'shop.example' : new URL(a.url).host, 'the first attempt had the replaced pool\'s Host')
  const raw = b.requests[0]?.rawHeaders ?? []
  return { status: res.status, hostHeaders: raw.flatMap((v, i) => i % 2 === 0 && v.toLowerCase() === 'host' ? [raw[i + 1]!] : []) }
}

t.test('preserveHost turned on while the retry waits: the retry carries the client\'s Host', async (t) => {
  const { status, hostHeaders } = await retryAcrossReload(t, false, true)
  t.equal(status, 200, 'B answered the retry')
  t.same(hostHeaders, ['shop.example'], 'the client\'s Host, once')
})

t.test('preserveHost turned off while the retry waits: the retry carries the target\'s Host, once', async (t) => {
  const { status, hostHeaders } = await retryAcrossReload(t, true, false)
  t.equal(status, 200, 'B answered the retry')
  t.equal(hostHeaders.length, 1, 'one Host field')
  t.not(hostHeaders[0], 'shop.example', 'not the client\'s')
  t.match(hostHeaders[0], /^127\.0\.0\.1:\d+$/, 'the target\'s')
})
