// A drained target is one whose last request ended: an operator (or a rolling deploy script waiting on the event
// feed) stops the upstream on 'drained', so it must not come while another request still runs on it
// (src/upstream/pool.ts release(): `if (target.inFlight === 0) {`).
import t from 'tap'
import { buildPool } from './config-fixtures.ts'

t.test("'drained' comes once, when the last of several requests ends, not at the first", async (t) => {
  const f = buildPool(['p1', 'p2'])
  t.teardown(() => f.pool.close())
  const { p1 } = f.byName
  const drained: string[] = []
  f.pool.on('drained', (target) => drained.push(target.id))
  f.pool.acquire(p1!)
  f.pool.acquire(p1!)
  f.pool.setStatus(p1!, { draining: true })
  f.pool.release(p1!)
  t.strictSame(drained, [], 'one request still runs: not drained')
  t.equal(f.pool.state(p1!), 'draining')
  f.pool.release(p1!)
  t.strictSame(drained, [p1!.id], 'drained once the last one ended')
})
