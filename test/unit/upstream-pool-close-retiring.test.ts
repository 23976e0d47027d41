// Closing a pool (shutdown, or a retired pool's deadline) closes every target it still holds, those a reload removed
// that were still finishing requests included: their connections to the upstream must not outlive the pool
// (src/upstream/pool.ts close(): `[...this.#targets, ...this.#retiring]`).
import t from 'tap'
import { buildPool } from './config-fixtures.ts'

t.test("close() closes the pool's targets and the removed ones still busy", async (t) => {
  const f = buildPool(['p1', 'p2'])
  const { p1, p2 } = f.byName
  const closed = new Set<string>()
  for (const x of [p1!, p2!]) {
    const close = x.close.bind(x)
    x.close = () => { closed.add(x.id); return close() }
  }
  f.pool.acquire(p2!)
  f.pool.setTargets([p1!])
  t.strictSame(f.pool.retiring, [p2], 'p2 still finishes its request')
  t.equal(closed.size, 0)
  await f.pool.close()
  t.strictSame([...closed].sort(), [p1!.id, p2!.id].sort(), 'both closed')
})
