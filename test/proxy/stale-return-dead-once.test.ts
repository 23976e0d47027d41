// Gaps found by mutation testing (review r41c, reconstructing the thirtieth pass's "two rare
// retry sequences of the try back to a dead target"). After a stale kept-alive connection the request (or WebSocket
// handshake) goes back to its target on a new connection; if that try cannot connect (a pod that died resets its
// connections, then refuses), it goes elsewhere whatever retryOn says of connect failures (src/proxy/attempt.ts
// `returned`, src/proxy/upgrade-attempt.ts #retryUnanswered `returned`). Only that one try is excused: a later try
// at the same target that cannot connect either is a connect failure as retryOn has it. Here the pool's one target
// dies, retryOn leaves connect failures out and attempts is 4: the stale try, the try back (excused), one more try
// (its connect failure ends the request): three tries, not five (the attempts limit reached one excused try at a time).
// - a request: the excused try is the one right after the stale one (`ex.stale.at(-1) === ex.tried.length - 2`),
//   not any try whose previous one went to the same target;
// - a handshake: the excused try is the one a stale connection made (`#retryReason === 'stale'`), not any try at a
//   target that once had a stale connection.
import t from 'tap'
import { expiringUpstream, get, handshake } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

for (const kind of ['request', 'handshake'] as const) {
  t.test(`${kind}: only the try right after the stale connection is excused its connect failure`, async (t) => {
    const a = await expiringUpstream(t, { name: 'a' })
    const gw = await gateway(t, {
      pools: { p: { targets: [a.url], retry: { attempts: 4, retryOn: ['reset', 'timeout', 502, 503, 504], backoff: { baseMs: 1, maxMs: 2 } }, circuitBreaker: { enabled: false }, outlier: { enabled: false } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    t.equal((await get(`${gw.url}/warm`)).status, 200)
    a.expire()
    a.die()
    const res = kind === 'request' ? await get(`${gw.url}/after`) : await handshake(gw.url)
    t.equal(res.status, 502, 'upstream_unreachable')
    await waitFor(() => gw.accessLogs().length === 2)
    const line = gw.accessLogs()[1]!
    t.equal(line.attempts, 3, 'stale, back (excused), once more (a connect failure retryOn leaves out): three tries')
  })
}
