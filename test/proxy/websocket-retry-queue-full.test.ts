// A WebSocket handshake retried after a connect failure whose next target's queue is full
// (connections.maxQueuedPerTarget) is refused 503 upstream_busy at once, as its first pick would be (upgrade.ts), and
// as a request's retry is: it does not pile onto a target already holding as many waiting attempts as it may.
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { sendHandshake } from './queued-handshake.ts'
import { gateway, refusedUrl } from './setup.ts'
import { blackhole } from './blackhole.ts'

t.test('the retry\'s target has a full queue: 503 upstream_busy at once, nothing more queued on it', async (t) => {
  const dead = await refusedUrl(t)
  const stuck = await blackhole(t)
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [dead, { url: stuck, backup: true }],
        connections: { maxQueuedPerTarget: 1 },
        retry: { attempts: 3, retryOn: ['connect-failure'], backoff: { baseMs: 0, maxMs: 0 } },
        timeouts: { requestMs: 10_000, connectMs: 10_000 },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock: new ManualClock(), defaultMetrics: false })
  const backup = gw.gateway.pools().get('p')!.pool.targets.find((x) => x.url === stuck)!
  // the first handshake's retry fills the backup's queue: its connection never opens
  await sendHandshake(t, gw.url)
  await waitFor(() => backup.queued === 1)
  t.ok(backup.queueFull)
  const second = await sendHandshake(t, gw.url)
  await waitFor(() => second.isClosed(), 3000)
  t.match(second.received(), /^HTTP\/1\.1 503 /)
  t.match(second.received(), /"error":"upstream_busy"/)
  t.match(gw.accessLogs().find((l) => l.upgrade === true), { status: 503, error: 'upstream_busy', attempts: 1, target: stuck })
  t.equal(backup.queued, 1, 'nothing more queued on the full target')
})
