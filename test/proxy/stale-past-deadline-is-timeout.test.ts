// A kept-alive connection found dead (stale) is no failure of the upstream's: the request is tried again at once on
// a new connection. When the request's deadline (timeouts.requestMs) has passed by the time the reset arrives, no
// try can follow, and what ended the request is its deadline: 504 upstream_timeout, as Envoy answers when a route's
// timeout expires whatever its retries were doing. Before, the stale reset became the answer: 502
// upstream_unreachable (ECONNRESET) for an upstream that never failed. (src/proxy/attempt.ts #mayRetryAfter,
// AttemptResult.outOfTime; src/proxy/forward.ts #sendAttemptError.) The gateway runs on a manual clock, moved past
// the deadline as the dead connection receives the request, without firing its timers.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ManualClock } from '../helpers/clock.ts'
import { expiringUpstream, get } from '../helpers/expiring-upstream.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

const REQUEST_MS = 1000

for (const attempts of [2, 1]) {
  t.test(`retry attempts ${attempts}: ${attempts > 1 ? '504 upstream_timeout' : 'no retry allowed, 502 upstream_unreachable as before (the deadline stopped nothing)'}`, async (t) => {
    const clock = new ManualClock()
    let pastDeadline = false
    const up = await expiringUpstream(t, { onExpiredByte: () => { if (pastDeadline) clock.set(clock.now() + REQUEST_MS + 1) } })
    const config: GatewayConfig = {
      pools: { p: { targets: [up.url], timeouts: { requestMs: REQUEST_MS }, retry: { attempts } } },
      routes: [{ path: '/', pool: 'p' }],
    }
    const gw = await startGateway(config, { clock, random: () => 0, defaultMetrics: false })
    t.teardown(() => gw.close())
    t.equal((await get(`${gw.url}/warm`)).status, 200)
    up.expire()
    pastDeadline = true
    const answer = await get(`${gw.url}/late`)
    await waitFor(() => gw.accessLogs().some((l) => l.path === '/late'))
    const line = gw.accessLogs().find((l) => l.path === '/late')!
    if (attempts > 1) {
      t.equal(answer.status, 504)
      t.equal(line.error, 'upstream_timeout')
    } else {
      t.equal(answer.status, 502)
      t.equal(line.error, 'upstream_unreachable')
    }
    t.equal(line.attempts, 1, 'no try after the deadline')
    t.same(up.paths, ['/warm'], 'the late request reached no upstream whole')
    t.notOk(gw.logs.some((l) => /target ejected|circuit breaker open/.test(l.msg)), 'the target is not blamed')
  })
}
