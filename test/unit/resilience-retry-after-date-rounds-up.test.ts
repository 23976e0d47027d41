// A 503 with `Retry-After: <HTTP-date>` asks the client not to come back before that time (RFC 9110 §10.2.3).
// The gateway's clock has milliseconds while HTTP dates have whole seconds, so the wait must round UP: with the date
// 1.2 s away, the gateway waits 2 s (capped by backoff.maxMs later), never 1 s, which would retry before the date the
// upstream named. Pins src/resilience/retry.ts parseRetryAfter's Math.ceil((at - now) / 1000) (line 72).
import t from 'tap'
import { parseRetryAfter } from '../../src/resilience/retry.ts'

t.test('an HTTP date is turned into whole seconds rounded up from a clock with milliseconds', async (t) => {
  const date = 'Wed, 21 Oct 2015 07:28:05 GMT'
  const at = Date.UTC(2015, 9, 21, 7, 28, 5)
  const cases: [msBefore: number, seconds: number][] = [
    [5000, 5],
    [4999, 5],
    [4001, 5],
    [4000, 4],
    [1200, 2],
    [1, 1], // one millisecond before the date: still wait, not 0 = "at once"
    [0, 0],
    [-300, 0], // already past
  ]
  for (const [msBefore, seconds] of cases) {
    t.equal(parseRetryAfter(date, at - msBefore), seconds, `${msBefore} ms before the date → ${seconds} s`)
  }
})
