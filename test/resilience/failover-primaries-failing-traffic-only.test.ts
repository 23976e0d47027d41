// Two primaries that answer 503 to every request while their /health passes, before one healthy, health-checked
// backup, under 8 concurrent clients: both primaries are ejected and the backup serves, the breaker staying closed.
// Before, the ejection cap (counted over the whole pool) kept the second primary in: the tier stayed primary, every
// request tried it first, the retry budget refused most retries to the backup, and the breaker opened, refusing
// everything with 503 circuit_open while the backup was healthy and idle.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, runtime, upstreams, type Reply } from './_util.ts'

const CLIENTS = 8

t.test('primaries failing on traffic only fail over to a checked backup', async (t) => {
  const [p1, p2, b1] = await upstreams(t, 3, 'x')
  const gw = await gateway(t, {
    pools: {
      pay: {
        targets: [p1!.url, p2!.url, { url: b1!.url, backup: true }],
        healthCheck: { path: '/health', intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 3 },
      },
    },
    routes: [{ path: '/', pool: 'pay' }],
  }, [p1!, p2!, b1!])
  const rt = runtime(gw, 'pay')
  const backup = rt.pool.targets.find((x) => x.backup)!
  await waitFor(() => rt.health!.lastResult(backup)?.ok === true)
  p1!.failCount = 1e9
  p2!.failCount = 1e9

  const replies: Reply[] = []
  const client = async (): Promise<void> => {
    for (let i = 0; i < 15; i++) replies.push(await call(gw.url, '/orders'))
  }
  await Promise.all(Array.from({ length: CLIENTS }, client))

  const states = gw.gateway.status().pools.pay!.targets.map((x) => x.state)
  t.strictSame(states, ['ejected', 'ejected', 'healthy'], 'both primaries ejected')
  t.equal(rt.pool.tier, 'backup', 'traffic failed over')
  t.equal(rt.breaker.state, 'closed', 'the breaker never judged an outage')
  t.equal(replies.filter((r) => r.error === 'circuit_open').length, 0, 'nothing refused circuit_open')
  const last = replies.slice(-CLIENTS * 5)
  t.ok(last.every((r) => r.status === 200 && r.upstream === 'x3'), 'the backup serves the rest')
})
