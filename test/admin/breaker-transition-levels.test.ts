// A breaker's state changes are logged at the level an operator's alert expects: open refuses the pool's every request
// (503 circuit_open), as "no target available" does, so it is an error; half-open is a timer firing, and closed a
// recovery, both info, as every other recovery is ("target healthy", "failback to primary targets", "target returned
// from ejection"). Before, half-open and closed were warnings: an alert on warn-or-worse fired again when the pool
// recovered (review r37b).
import t from 'tap'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const ERROR = 50
const INFO = 30

t.test('open at error; half-open and closed at info; each once, in the log and the feed', async (t) => {
  const up = await TestUpstream.start({ name: 'u1' })
  const gw = await startGateway({
    pools: { p: { targets: [up.url], outlier: { enabled: false }, retry: { attempts: 1 }, circuitBreaker: { volumeThreshold: 5, resetTimeoutMs: 300 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await up.close(); await gw.close() })
  const breaker = gw.gateway.pools().get('p')!.breaker
  const lines = (): LogRecord[] => gw.logs.filter((l) => l.event === 'breaker')
  const get = async (): Promise<number> => (await fetch(`${gw.url}/x`)).status

  up.failCount = 1000
  while (breaker.state !== 'open') await get()
  // the probe fails: open again, an error again
  await waitFor(() => breaker.state === 'half-open')
  t.equal(await get(), 503, 'the probe fails')
  // opossum hears the verdict through a promise: its state moves a turn later
  await waitFor(() => breaker.state === 'open')
  up.failCount = 0
  await waitFor(() => breaker.state === 'half-open')
  t.equal(await get(), 200, 'the probe succeeds')
  await waitFor(() => breaker.state === 'closed')

  t.same(lines().map((l) => [l.msg, l.level]), [
    ['circuit breaker open', ERROR],
    ['circuit breaker half-open', INFO],
    ['circuit breaker open', ERROR],
    ['circuit breaker half-open', INFO],
    ['circuit breaker closed', INFO],
  ], 'open is an error, the timer and the recovery are info')
  t.same(lines().map((l) => [l.breaker, l.previous]), [['open', 'closed'], ['half-open', 'open'], ['open', 'half-open'], ['half-open', 'open'], ['closed', 'half-open']], 'each line names the state it left')
  t.same(gw.gateway.events.list().filter((e) => e.kind === 'breaker').map((e) => e.message), lines().map((l) => l.msg), 'the feed has each one')

  // an operator's close is a recovery too
  breaker.force('open')
  breaker.force('closed')
  t.same(lines().slice(-2).map((l) => [l.msg, l.level]), [['circuit breaker open', ERROR], ['circuit breaker closed', INFO]])
})
