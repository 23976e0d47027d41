// When a canary is rolled back, the event (the 'canary rolled back: … (33.3%)' line in /events and the dashboard's
// "⚠ rolled back … failed (x%)") reports the error rate that tripped it. An operator comparing it with
// maxErrorRatePercent needs the exact rate, not one rounded to a whole percent (a 5% threshold tripped at 5.4% must
// not read "5%", which looks like it should not have tripped). Pins src/release/canary.ts #maybeRollBack's
// `errorRatePercent: (errors * 100) / requests` (line 147).
import t from 'tap'
import { CanaryDecider } from '../../src/release/canary.ts'

t.test('the rollback event carries the exact error rate', async (t) => {
  const cases: [maxErrorRatePercent: number, minRequests: number, pattern: string, rate: number][] = [
    [30, 3, '..x', 100 / 3], // 33.33…%
    [5, 37, '.'.repeat(35) + 'xx', 200 / 37], // 5.405…% over a 5% threshold
    [50, 8, '...xxxxx', 62.5],
    [0, 1, 'x', 100],
  ]
  for (const [maxErrorRatePercent, minRequests, pattern, rate] of cases) {
    const d = new CanaryDecider(
      { pool: 'c', weight: 10, stickyBy: 'none', rollback: { maxErrorRatePercent, minRequests, windowMs: 10_000 } },
      { now: () => 1_000_000, random: () => 0 },
    )
    let event
    for (const c of pattern) event = d.record('canary', c === '.') ?? event
    t.ok(event !== undefined, `${pattern}: rolled back`)
    t.equal(event?.errorRatePercent, rate, `${pattern} → ${rate}%`)
    t.equal(event?.errors, [...pattern].filter((c) => c === 'x').length)
    t.equal(event?.requests, pattern.length)
  }
})
