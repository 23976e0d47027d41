// A request whose first attempt found its target's connection queue full (busy: retried on another target like a
// timeout) and whose retry was answered 200 was logged `status: 200, error: "upstream_busy"` and counted in
// switchyard_request_errors_total{error="upstream_busy"}: the busy attempt set the request's error code itself
// (src/proxy/attempt.ts #busy) and nothing cleared it when a later attempt answered (review r41c). A served request
// has no error code; one that every try found busy is answered and logged 503 upstream_busy (forward.ts).
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

t.test('a request answered by its retry after a busy attempt has no error code', async (t) => {
  const a = await upstream(t, 'a')
  a.delayMs = 500
  const b = await upstream(t, 'b')
  const gw = await gateway(t, {
    pools: { p: { targets: [a.url, b.url], connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 }, retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p', name: 'r' }],
  })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  // round robin: /r1 takes a's one connection, /r3 waits in a's queue (full), /r5 finds it full and goes to b
  const r1 = httpRequest(`${gw.url}/r1`)
  await waitFor(() => a.hits === 1)
  await httpRequest(`${gw.url}/r2`)
  const r3 = httpRequest(`${gw.url}/r3`)
  await waitFor(() => target.queued === 1)
  await httpRequest(`${gw.url}/r4`)
  t.equal((await httpRequest(`${gw.url}/r5`)).status, 200)
  await Promise.all([r1, r3])
  await waitFor(() => gw.accessLogs().length === 5)
  const line = gw.accessLogs().find((l) => l.path === '/r5')!
  t.match(line, { status: 200, attempts: 2 }, 'busy at a, answered by b')
  t.equal(line.error, undefined, 'no error code on a served request')
  t.notOk(String(await gw.gateway.metrics!.render()).includes('error="upstream_busy"'), 'not counted as an upstream_busy error')
})
