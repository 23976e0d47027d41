// The event feed: its bound of 200, route scopes, and the page's own reload rejection (shown at once, kept across
// a reconnect).
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { REJECTED_PROBLEMS } from './fixture.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// The event feed keeps the newest 200 events: a long backlog does not grow the page without bound, and what it
// drops is the oldest.
t.test('a backlog of 250 events shows the newest 200', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const start = Date.now() - 250_000
  for (let i = 1; i <= 250; i++) admin.events.push({ at: new Date(start + i * 1000).toISOString(), kind: 'reload', message: `reload ${i}` })
  admin.live.disconnectAll() // the page reconnects and gets the whole backlog
  const messages = page.locator('.feed li.event .event-message')
  await waitUntil(async () => await messages.count() >= 200, 5000)
  t.equal(await messages.count(), 200)
  t.equal(await messages.first().innerText(), 'reload 250', 'newest first')
  t.equal(await messages.last().innerText(), 'reload 51', 'the 50 oldest dropped')
})

// A rejection this page saw (its own reload's 422) stays in the feed when the live stream reconnects: the new
// backlog replaces the gateway's events, not what only this page knows.
t.test("the page's own rejection entry survives a reconnect", async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { reloadEventDelayMs: 600_000 }, browser })
  await page.locator('#reload').click()
  const rejected = page.locator('.feed li.event[data-kind="reload-rejected"]')
  await rejected.first().waitFor()
  admin.events.push({ at: new Date().toISOString(), kind: 'reload', message: 'only in the new backlog' })
  admin.live.disconnectAll()
  await page.locator('.feed li.event', { hasText: 'only in the new backlog' }).waitFor()
  t.equal(await rejected.count(), 1, 'still there')
})

// An event about a route says which ("route catalog") in its scope, as events about a pool or target do.
t.test("a route event names the route", async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.publish({ kind: 'canary', route: 'catalog', message: 'canary weight set to 25%' })
  const entry = page.locator('.feed li.event[data-kind="canary"]')
  await entry.waitFor()
  t.equal(await entry.locator('.event-scope').innerText(), 'route catalog')
})

// A reload this page asked for and saw refused (422 with problems) shows its problems in the feed at once, marked
// as reported to this page, without waiting for the gateway's own event (which may come late, or never if the
// stream is down).
t.test("the 422's problems are in the feed before the gateway's event", async (t) => {
  // the gateway's event is held back for ten minutes: what shows is the page's own entry
  const { page } = await openDashboard(t, { admin: { reloadEventDelayMs: 600_000 }, browser })
  await page.locator('#reload').click()
  const rejected = page.locator('.feed li.event[data-kind="reload-rejected"]')
  await rejected.first().waitFor()
  t.same(await rejected.first().locator('.problems li').allInnerTexts(), REJECTED_PROBLEMS)
  t.match(await rejected.first().innerText(), /reported to this page/)
})

// A tier event is labelled by its kind, not as a failover: a failback or an outage said "failover" beside its message.
t.test('a failback is not labelled a failover', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  admin.publish({ kind: 'tier', pool: 'payments', message: 'failback to primary targets' })
  const entry = page.locator('.feed li.event[data-kind="tier"]')
  await entry.waitFor()
  t.equal(await entry.locator('.event-kind').innerText(), '⇅ tier')
})
