// A pool retries 429 (retryOn: [429]; 429 is no failure status). Its only target answers 429, the gateway drops that
// answer to retry after the backoff, and during the backoff the operator disables the target: the retry finds no
// target. The upstream was reached and answered, so the client gets 502 upstream_error, as when the dropped answer
// was a 503, never upstream_unreachable ("refused, connect timeout, reset before a response").
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

for (const status of [429, 503]) {
  t.test(`a dropped ${status} whose retry finds no target: 502 upstream_error`, async (t) => {
    const u = await TestUpstream.start({ name: 'u' })
    t.teardown(() => u.close())
    u.failStatus = status
    u.failCount = 1
    const clock = new ManualClock()
    const gw = await startGateway({
      pools: { p: { targets: [u.url], retry: { attempts: 3, retryOn: [status], backoff: { baseMs: 1000, maxMs: 1000 } } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { clock, random: () => 0.5, defaultMetrics: false })
    t.teardown(() => gw.close())
    const pending = fetch(`${gw.url}/x`).then(async (r) => ({ status: r.status, body: await r.json() as { error: string } }))
    const runtime = gw.gateway.pools().get('p')!
    // the answer was dropped: a retry slot is held for the backoff
    await waitFor(() => u.hits === 1 && runtime.budget.retriesInFlight === 1)
    for (const target of runtime.pool.targets) runtime.pool.setStatus(target, { disabled: true })
    clock.advance(1000)
    const answer = await pending
    t.equal(u.hits, 1, 'the upstream answered once')
    t.equal(answer.status, 502)
    t.equal(answer.body.error, 'upstream_error')
    t.equal(gw.accessLogs().find((l) => l.path === '/x')?.error, 'upstream_error')
  })
}
