// The health-probe client a target's copies share (src/upstream/target.ts: SharedTarget.probeFor, Target.#endProbe)
// ends as the copies' traffic connections do (test/unit/upstream-target.test.ts pins those): a copy made after every
// copy ended gets a new probe client, never the ended one (which would refuse every probe: a healthy target marked
// unhealthy); the last copy's destroy() cuts a probe still in flight, and so does a destroy() after that copy's own
// close() while the close waits for one. Probes are sent here as the checker sends them, through probeClient.
import { once } from 'node:events'
import t from 'tap'
import { Target } from '../../src/upstream/target.ts'
import { settlesWithin } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { poolConfig } from './config-fixtures.ts'
import { get } from './connections-get.ts'

t.test('a copy made after every copy ended probes on a new client, not the closed one', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const at = (weight: number) => poolConfig({ targets: [{ url: up.url, weight }] })
  const old = new Target(at(1).targets[0]!, at(1))
  const copy = new Target(at(3).targets[0]!, at(3), undefined, old.shared)
  t.equal(copy.probeClient, old.probeClient, 'copies made with the same settings share one probe client')
  const ended = old.probeClient
  await old.close()
  t.equal(ended.closed, false, 'open while a copy still probes on it')
  await copy.close()
  t.equal(ended.closed, true, 'the last copy closed it')
  const back = new Target(at(1).targets[0]!, at(1), undefined, old.shared)
  t.teardown(() => back.close())
  t.not(back.probeClient, ended, 'a new client')
  t.equal(await get(back.probeClient, '/health'), 200, 'that probes')
})

t.test('the last copy\'s destroy() cuts a probe in flight', async (t) => {
  const up = await TestUpstream.start()
  up.mode = 'hang'
  t.teardown(() => up.close())
  // the request's own limits at 5 s: a probe left uncut would end by them, not by the destroy
  const config = poolConfig({ targets: [up.url], timeouts: { requestMs: 5000, idleMs: 5000 } })
  const target = new Target(config.targets[0]!, config)
  const received = once(up.server, 'request')
  const outcome = get(target.probeClient, '/hang')
  await received
  t.ok(await settlesWithin(target.destroy(), 1000), 'the destroy ends at once')
  const cut = await settlesWithin(outcome, 1000)
  t.ok(cut, 'and so does the probe')
  if (cut) t.equal(await outcome, 'UND_ERR_DESTROYED', 'cut by the destroy')
  t.equal(target.probeClient.destroyed, true)
})

t.test('destroy() while the last copy\'s close() waits for a probe in flight: the probe is cut', async (t) => {
  const up = await TestUpstream.start()
  up.mode = 'hang'
  t.teardown(() => up.close())
  const at = (weight: number) => poolConfig({ targets: [{ url: up.url, weight }], timeouts: { requestMs: 5000, idleMs: 5000 } })
  const old = new Target(at(1).targets[0]!, at(1))
  const copy = new Target(at(3).targets[0]!, at(3), undefined, old.shared)
  await old.close()
  const received = once(up.server, 'request')
  const outcome = get(copy.probeClient, '/hang')
  await received
  const closing = copy.close()
  t.ok(await settlesWithin(copy.destroy(), 1000), 'the destroy ends at once')
  const cut = await settlesWithin(outcome, 1000)
  t.ok(cut, 'and so does the probe')
  if (cut) t.equal(await outcome, 'UND_ERR_DESTROYED', 'cut by the destroy')
  t.ok(await settlesWithin(closing, 1000), 'the close waits no longer')
  t.equal(copy.probeClient.destroyed, true)
})
