// After an automatic rollback, /status shows the canary's requests and errors over the window: what tripped it. Setting
// the weight to 0 again (an operator's `POST /routes/:name/canary {weight: 0}`, or a reload whose file says 0) changes
// nothing for the canary's traffic, so those numbers must stay; only raising a canary from 0 starts it with an empty
// window. Pins src/release/canary.ts setWeight's `this.#weight === 0 && weight > 0` (line 89): the `weight > 0` half.
import t from 'tap'
import { CanaryDecider, type WeightSource } from '../../src/release/canary.ts'

t.test('0 → 0 keeps the canary window; 0 → more clears it', async (t) => {
  const cases: [source: WeightSource, weight: number, requests: number][] = [
    ['operator', 0, 4],
    ['file', 0, 4],
    ['rollback', 0, 4],
    ['operator', 5, 0],
  ]
  for (const [source, weight, requests] of cases) {
    const d = new CanaryDecider(
      { pool: 'c', weight: 20, stickyBy: 'none', rollback: { maxErrorRatePercent: 50, minRequests: 4, windowMs: 10_000 } },
      { now: () => 1_000_000, random: () => 0 },
    )
    for (let i = 0; i < 4; i++) d.record('canary', false)
    t.equal(d.weight, 0, 'rolled back')
    t.strictSame(d.stats().canary, { requests: 4, errors: 4 }, 'what tripped it')
    d.setWeight(weight, source)
    t.strictSame(d.stats().canary, { requests, errors: requests }, `setWeight(${weight}, ${source}) → ${requests} requests in the window`)
  }
})
