// An event's time in the feed is the local wall-clock time to the second (hh:mm:ss, 24-hour), as formatClock said
// before review r41g made its formatter once: events a second apart must not look simultaneous.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test('feed times are hh:mm:ss', async (t) => {
  const { admin, page } = await openDashboard(t)
  const at = new Date(Date.now() - 3_000)
  admin.publish({ at: at.toISOString(), kind: 'drain', pool: 'payments', target: '10.0.1.11:8080', message: 'timed' })
  const time = page.locator('.feed li.event', { hasText: 'timed' }).locator('time')
  await time.waitFor()
  const expected = await page.evaluate((iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }), at.toISOString())
  t.match(await time.innerText(), /^\d\d:\d\d:\d\d$/, 'hours, minutes and seconds')
  t.equal(await time.innerText(), expected, "the event's local time")
})
