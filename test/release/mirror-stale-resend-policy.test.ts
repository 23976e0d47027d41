// Belongs in test/release/. Gaps found by mutation testing (review r36, mutants AF51, AF54, AF56, AF57, AF58) in a
// mirror copy's resend after a stale kept-alive connection (src/proxy/mirror.ts): it goes once more only where the
// mirror pool's retry policy would resend a request after a reset, and only after a reset before any byte of an
// answer:
// - retry.attempts 1 (retries off): a GET copy is not resent;
// - a POST copy with an Idempotency-Key is resent when the pool's retry.idempotencyKey is on, and not when it is off;
//   an empty key is no key;
// - a reset after an informational answer (103 Early Hints) is no stale connection: the copy is the target's failure,
//   not sent again.
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const WARM = 4

async function mirrorTo (t: Tap, retry: Record<string, unknown>) {
  const main = await upstream(t, 'main')
  const shadow = await expiringUpstream(t, { delayMs: (path) => path.startsWith('/warm') ? 50 : 0 }) // copies sent at once each take a connection
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], retry } },
    routes: [{ name: 'api', path: '/', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const attempts = async (outcome: string): Promise<number> => (await series())[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })] ?? 0
  const mirrored = async (outcome: string): Promise<number> => (await series())[key('switchyard_mirror_requests_total', { route: 'api', outcome })] ?? 0
  const ended = async (): Promise<number> => await mirrored('sent') + await mirrored('failed') + await mirrored('error_status')
  /** Copies sent at once (the mirror target has kept-alive connections), then its connections expire. */
  const warmThenExpire = async (): Promise<void> => {
    for (const r of await Promise.all(Array.from({ length: WARM }, (_, i) => httpRequest(`${gw.url}/warm${i}`)))) t.equal(r.status, 200)
    await waitFor(async () => await ended() === WARM)
    shadow.expire()
  }
  /** Sends one request; resolves once its copy ended. Whether the copy reached the mirror. */
  const copied = async (path: string, options: Parameters<typeof httpRequest>[1] = {}): Promise<boolean> => {
    t.equal((await httpRequest(`${gw.url}${path}`, options)).status, 200, 'the client never waits for the mirror')
    await waitFor(async () => await ended() === WARM + 1)
    return shadow.paths.includes(path)
  }
  return { shadow, target, attempts, mirrored, warmThenExpire, copied }
}

t.test('retries off (attempts 1): a GET copy on a stale connection is not resent', async (t) => {
  const { attempts, mirrored, target, warmThenExpire, copied } = await mirrorTo(t, { attempts: 1 })
  await warmThenExpire()
  t.notOk(await copied('/read'), 'not sent on a new connection')
  t.equal(await attempts('stale'), 1)
  t.equal(await mirrored('failed'), 1, 'not delivered')
  t.equal(target.failures, 0, "and no failure of the target's")
})

t.test('a POST copy with an Idempotency-Key is resent where the pool honours keys', async (t) => {
  const { attempts, mirrored, warmThenExpire, copied } = await mirrorTo(t, { attempts: 2, idempotencyKey: true })
  await warmThenExpire()
  t.ok(await copied('/pay', { method: 'POST', body: 'x', headers: { 'idempotency-key': 'k-1' } }), 'sent again on a new connection')
  t.equal(await attempts('stale'), 1)
  t.equal(await mirrored('sent'), WARM + 1)
})

t.test('not where the pool does not honour keys', async (t) => {
  const { mirrored, warmThenExpire, copied } = await mirrorTo(t, { attempts: 2, idempotencyKey: false })
  await warmThenExpire()
  t.notOk(await copied('/pay', { method: 'POST', body: 'x', headers: { 'idempotency-key': 'k-1' } }), 'not sent again')
  t.equal(await mirrored('failed'), 1)
})

t.test('an empty Idempotency-Key is no key', async (t) => {
  const { mirrored, warmThenExpire, copied } = await mirrorTo(t, { attempts: 2, idempotencyKey: true })
  await warmThenExpire()
  t.notOk(await copied('/pay', { method: 'POST', body: 'x', headers: { 'idempotency-key': '' } }), 'not sent again')
  t.equal(await mirrored('failed'), 1)
})

t.test('a reset after a 103 on a kept-alive connection is the target\'s failure, not a stale connection', async (t) => {
  const { shadow, attempts, mirrored, target, warmThenExpire, copied } = await mirrorTo(t, { attempts: 2 })
  await warmThenExpire()
  shadow.hintsFirst = true
  t.notOk(await copied('/read'), 'not sent again')
  t.equal(await attempts('stale'), 0, 'no stale try')
  t.equal(await attempts('reset'), 1, 'a reset')
  t.equal(await mirrored('failed'), 1)
  t.equal(target.failures, 1)
})
