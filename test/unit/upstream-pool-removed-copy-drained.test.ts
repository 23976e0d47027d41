// A target removed while busy, added back (a new copy sharing its load) and removed again: the newer copy had nothing
// of its own and closed, so when the old copy's last request ends the upstream has drained, and the pool says so
// once ('drained', as the event feed tells it). Nobody else is left to tell it
// (src/upstream/pool.ts release(): `newest === target || !this.#status.has(newest)`).
import t from 'tap'
import { Target } from '../../src/upstream/target.ts'
import { buildPool } from './config-fixtures.ts'

t.test('the old copy drains when its newer copy has left the pool', async (t) => {
  const f = buildPool(['p1', 'p2'])
  t.teardown(() => f.pool.close())
  const { p1, p2 } = f.byName
  const drained: Target[] = []
  f.pool.on('drained', (target) => drained.push(target))
  f.pool.acquire(p1!)
  f.pool.setTargets([p2!])
  const again = new Target({ url: p1!.url, weight: 2, backup: false }, f.pool.config, undefined, p1!.shared)
  f.pool.setTargets([p2!, again])
  t.equal(again.inFlight, 1, "the new copy carries the old one's load")
  f.pool.setTargets([p2!])
  t.strictSame(drained, [], 'a request still runs on the upstream')
  f.pool.release(p1!)
  t.equal(drained.length, 1, 'drained once the last request ended')
  t.equal(drained[0], p1, 'told for the copy that ran it')
  t.strictSame(f.pool.retiring, [])
})
