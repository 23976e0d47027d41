// A target removed while a request to it is in flight, and added back before that request ends: the new copy's
// counts start again (as its metric series does), and the removed copy's request, ending afterwards, counts in
// none, as it counts in no metric series. It counted in the new copy's attempts, one more than its series exported
// (the operator-chaos invariant, which caught it when a request was in flight across the two reloads).
import t from 'tap'
import { SharedTarget, Target } from '../../src/upstream/target.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('a removed copy\'s request that ends after the target came back counts nowhere', async (t) => {
  const pool = poolConfig({ targets: [{ url: 'http://127.0.0.1:9' }] })
  const shared = new SharedTarget()
  const removed = new Target({ url: 'http://127.0.0.1:9', weight: 1, backup: false }, pool, undefined, shared)
  removed.acquire()
  removed.release()
  removed.acquire() // in flight across the removal and the return
  shared.restartCounts() // the reload that adds it back (registry.ts adoptShared)
  const back = new Target({ url: 'http://127.0.0.1:9', weight: 1, backup: false }, pool, undefined, shared)
  t.equal(back.requests, 0, 'counts start again')
  removed.release(true)
  t.equal(back.requests, 0, 'the removed copy\'s request is not the new copy\'s')
  t.equal(back.failures, 0)
  t.equal(back.inFlight, 0, 'but its load is gone')
  back.acquire()
  back.release()
  t.equal(back.requests, 1, 'the new copy counts its own')
  await Promise.all([removed.close(), back.close()])
})

t.test('a copy replaced without a removal (a weight change) counts on', async (t) => {
  const pool = poolConfig({ targets: [{ url: 'http://127.0.0.1:9' }] })
  const shared = new SharedTarget()
  const before = new Target({ url: 'http://127.0.0.1:9', weight: 1, backup: false }, pool, undefined, shared)
  before.acquire()
  const after = new Target({ url: 'http://127.0.0.1:9', weight: 2, backup: false }, pool, undefined, shared)
  before.release()
  t.equal(after.requests, 1)
  await Promise.all([before.close(), after.close()])
})
