// A reconnection whose backlog is shorter than what the feed shows (a restarted gateway remembers fewer events) leaves
// only that backlog in the feed: since review r41g the feed inserts new entries and removes what is left over at its
// end, and every entry left over must go (not one a reconnect), or a restarted gateway's page keeps showing events
// that gateway never had, mixed in with its own.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('a shorter backlog after a reconnect: only its events are shown', async (t) => {
  const { admin, page } = await openDashboard(t)
  const entries = page.locator('.feed li.event')
  for (let i = 0; i < 5; i++) admin.publish({ kind: 'drain', pool: 'payments', target: '10.0.1.11:8080', message: `before the restart ${i}` })
  await waitUntil(async () => await entries.count() === 5, 5000)
  // the gateway restarts: one event in its backlog, every stream ended
  admin.events.length = 0
  admin.events.push({ at: new Date().toISOString(), kind: 'reload', message: 'after the restart' })
  admin.live.disconnectAll()
  await page.locator('.feed li.event', { hasText: 'after the restart' }).waitFor()
  await waitUntil(async () => await entries.count() === 1, 3000).catch(() => {})
  t.same(await entries.locator('.event-message').allInnerTexts(), ['after the restart'], "only the new gateway's event")
})
