// A target the health checks take out is logged and fed with why: the failing probe's unexpected status, or the
// error code of a probe that got no answer (HAProxy's "Layer7 wrong status, code: 503", "Layer4 connection
// problem"). /status's lastCheck keeps only the latest probe; the event outlives it. Other ways out (ejection, an
// operator's disable) keep their own messages, with no check.
import t from 'tap'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('"target unhealthy" names the failing check: a 503, a refused connection', async (t) => {
  const good = await TestUpstream.start({ name: 'good' })
  const sick = await TestUpstream.start({ name: 'sick' })
  sick.unhealthy = true
  const down = await TestUpstream.start({ name: 'down' })
  await down.refuse()
  t.teardown(async () => { await good.close(); await sick.close() })
  const gw = await startGateway({
    pools: { p: { targets: [good.url, sick.url, down.url], healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 2 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const runtime = gw.gateway.pools().get('p')!
  const id = (u: TestUpstream): string => runtime.pool.targets.find((x) => x.url === u.url)!.id
  const events = (u: TestUpstream) => gw.gateway.events.list().filter((e) => e.target === id(u))
  const logs = (u: TestUpstream): LogRecord[] => gw.logs.filter((l) => l.event === 'target' && l.target === id(u))

  await waitFor(() => events(sick).length > 0 && events(down).length > 0)
  t.match(events(sick), [{ kind: 'target', message: 'target unhealthy (503)', check: { status: 503 } }], 'the event names the status')
  t.match(logs(sick), [{ level: 40, msg: 'target unhealthy (503)', check: { status: 503 }, url: sick.url }], 'so does the warning')
  t.match(events(down), [{ kind: 'target', message: 'target unhealthy (ECONNREFUSED)', check: { error: 'ECONNREFUSED' } }], 'the event names the error')
  t.match(logs(down), [{ level: 40, msg: 'target unhealthy (ECONNREFUSED)', check: { error: 'ECONNREFUSED' }, url: down.url }], 'so does the warning')
  t.same(events(good), [], 'a healthy target has no event')

  // back in: the later passing probes overwrite lastCheck, the feed still says why it went out
  sick.unhealthy = false
  await waitFor(() => events(sick).length === 2)
  t.same(events(sick).map((e) => e.message), ['target unhealthy (503)', 'target healthy'], 'one event out, one back in')
  t.equal(events(sick)[1]!.check, undefined, 'a target back in names no failed check')

  // ejection and an operator's disable are no health-check verdicts: their messages are unchanged
  const target = runtime.pool.targets.find((x) => x.url === good.url)!
  runtime.pool.setStatus(target, { ejectedUntil: performance.now() + 60_000 })
  runtime.pool.setStatus(target, { disabled: true })
  t.same(events(good).map((e) => [e.message, e.check]), [['target ejected', undefined], ['target disabled', undefined]])
  t.notOk(logs(good).some((l) => 'check' in l), 'nor do their log lines carry a check')
})

// only 'target unhealthy' names the failing probe. An operator disabling a target the checks took out is no
// health-check verdict, though its last probe failed: 'target disabled', with no check, in the feed and the log.
t.test('events-health-reason-disabled', async (t) => {
  t.test('disabling a target whose last probe failed: no failed check named', async (t) => {
    const sick = await TestUpstream.start({ name: 'sick' })
    sick.unhealthy = true
    t.teardown(() => sick.close())
    const gw = await startGateway({
      pools: { p: { targets: [sick.url], healthCheck: { path: '/health', intervalMs: 60_000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 1 } } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const runtime = gw.gateway.pools().get('p')!
    const target = runtime.pool.targets[0]!
    const events = () => gw.gateway.events.list().filter((e) => e.target === target.id)
    await waitFor(() => events().length > 0)
    t.match(events(), [{ message: 'target unhealthy (503)', check: { status: 503 } }])
    t.match(runtime.health!.lastResult(target), { ok: false, status: 503 }, 'the last probe failed')
    runtime.pool.setStatus(target, { disabled: true })
    t.same(events().slice(1).map((e) => [e.message, e.check]), [['target disabled', undefined]], 'the operator\'s disable keeps its message')
    const line = gw.logs.filter((l) => l.event === 'target' && l.target === target.id).at(-1)!
    t.equal(line.msg, 'target disabled')
    t.notOk('check' in line, 'its log line carries no check')
  })
})
