// The dashboard's formatting of numbers and times (src/admin/dashboard/format.ts): clock times, latencies, error
// rates, request rates and spans, each shown the way an operator reads it at a glance.
import t from 'tap'
import { formatClock, formatHourMinute, formatMs, formatPercent, formatRate, formatSpan } from '../../src/admin/dashboard/format.ts'

// A time the page cannot read (a malformed "at" in an event or a check) shows as "?", not "Invalid Date".
t.test('formatClock: an unreadable time is "?"', async (t) => {
  t.equal(formatClock('not a time'), '?')
  t.equal(formatClock(Number.NaN), '?')
  t.match(formatClock('2026-01-02T03:04:05Z'), /^\d\d:\d\d:\d\d$/, 'a readable one is hh:mm:ss')
})

// The dashboard's latencies (p99): unknown reads "–", under 1 ms two decimals, under 100 ms one, then whole
// milliseconds, and from 10 s on seconds. A p99 that is missing (no request in the window) must read as unknown,
// whether the wire gives null or leaves it out, never as "NaN".
t.test('formatMs: unknown, then precision by magnitude', async (t) => {
  const cases: [ms: number | null | undefined, shown: string][] = [
    [null, '–'], [undefined, '–'], [0, '0 ms'], [0.5, '0.50 ms'], [1, '1.0 ms'], [99.5, '99.5 ms'], [100, '100 ms'],
    [9999, '9999 ms'], [10_000, '10.0 s'], [12_340, '12.3 s'],
  ]
  for (const [ms, shown] of cases) t.equal(formatMs(ms), shown, `${ms}`)
})

// The dashboard's error rates: no error at all reads "0%", a trace of errors "<0.1%" (never "0%", which would hide
// it), under 10% one decimal, from 10% on whole percents. The boundaries are exactly 0.1% and 10%.
t.test('formatPercent: 0%, <0.1%, one decimal under 10%, whole percents from 10%', async (t) => {
  const cases: [ratio: number, shown: string][] = [
    [0, '0%'], [0.0001, '<0.1%'], [0.001, '0.1%'], [0.05, '5.0%'], [0.0999, '10.0%'], [0.1, '10%'], [0.123, '12%'], [1, '100%'],
  ]
  for (const [ratio, shown] of cases) t.equal(formatPercent(ratio), shown, `ratio ${ratio}`)
})

// The dashboard's rates (req/s, errors/s): an idle target reads "0/s", under 10/s one decimal, up to 9999/s whole
// numbers, and from 10 000/s on in thousands. An operator compares these at a glance across tiles, so the precision
// switches at exactly 10 and 10 000 and an idle target never reads as a small non-zero rate ("0.0/s").
t.test('formatRate: precision by magnitude, switching at 10/s and 10 000/s', async (t) => {
  const cases: [perSecond: number, shown: string][] = [
    [0, '0/s'], [0.5, '0.5/s'], [9.5, '9.5/s'], [10, '10/s'], [10.4, '10/s'], [9999, '9999/s'],
    [10_000, '10.0k/s'], [12_345, '12.3k/s'],
  ]
  for (const [perSecond, shown] of cases) t.equal(formatRate(perSecond), shown, `${perSecond}/s`)
})

// "for 94 s", "half-open in 12 s", "check … 3 min ago": spans are seconds below 90 s, minutes below 90 min, then
// hours, and never negative (a clock a little ahead of the gateway's must not show "-2 s").
t.test('formatSpan: seconds below 90 s, minutes below 90 min, then hours; never negative', async (t) => {
  const cases: [ms: number, shown: string][] = [
    [-5000, '0 s'], [0, '0 s'], [12_000, '12 s'], [89_000, '89 s'], [90_000, '2 min'], [240_000, '4 min'],
    [89 * 60_000, '89 min'], [90 * 60_000, '2 h'], [5 * 3_600_000, '5 h'],
  ]
  for (const [ms, shown] of cases) t.equal(formatSpan(ms), shown, `${ms} ms`)
})

// the charts' axes: 24-hour hh:mm, whatever the locale's habit (review r41j: made once now, a 12-hour formatter would
// have drawn "02:30 PM" on every axis, where no page test can read it)
t.test('formatHourMinute: 24-hour hh:mm', async (t) => {
  t.match(formatHourMinute(Date.parse('2026-01-02T03:04:05Z')), /^\d\d:\d\d$/)
  const hours = new Set(Array.from({ length: 24 }, (_, h) => formatHourMinute(Date.UTC(2026, 0, 2, h, 30)).slice(0, 2)))
  t.equal(hours.size, 24, 'every hour of a day has its own two digits (no 12-hour clock)')
})
