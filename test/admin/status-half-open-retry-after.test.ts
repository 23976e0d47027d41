// /status gives circuitRetryAfterSeconds only while a pool's breaker is open (status-types: "While open: seconds until
// the breaker lets a probe through"). Half-open, a probe is being let through already: the field is absent, so a
// dashboard or script does not tell the operator to wait for a probe that is under way.
import t from 'tap'
import { nextState } from '../helpers/breaker-state.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('open: circuitRetryAfterSeconds given; half-open: absent', async (t) => {
  const gw = await startGateway({
    pools: { p: { targets: ['http://127.0.0.1:1'], circuitBreaker: { resetTimeoutMs: 50 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  const opened = nextState(runtime.breaker)
  runtime.breaker.force('open')
  t.equal(gw.gateway.status().pools.p!.circuit, 'open')
  t.equal(gw.gateway.status().pools.p!.circuitRetryAfterSeconds, 1, 'open: seconds until a probe')
  t.equal(await opened, 'open')
  t.equal(await nextState(runtime.breaker), 'half-open')
  const pool = gw.gateway.status().pools.p!
  t.equal(pool.circuit, 'half-open')
  t.notOk('circuitRetryAfterSeconds' in pool, 'half-open: no retry-after')
})
