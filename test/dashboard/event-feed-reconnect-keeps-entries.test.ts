// A reconnection's backlog repeats the events the feed already shows: those keep their nodes, and only events new
// to the page are added (review r42c: every entry was made again inside the live region, role=log, so a screen
// reader read the whole backlog out again on every reconnect and on entering the token).
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('a reconnect adds only the events it did not show', async (t) => {
  const { admin, page } = await openDashboard(t)
  for (const message of ['first', 'second', 'third']) admin.publish({ kind: 'drain', pool: 'payments', target: '10.0.1.11:8080', message })
  const entries = page.locator('.feed li.event')
  await waitUntil(async () => await entries.count() === 3, 5000)
  await page.evaluate(() => {
    const added: string[] = []
    ;(window as unknown as { added: string[] }).added = added
    new MutationObserver((mutations) => {
      for (const m of mutations) for (const node of m.addedNodes) added.push(node.textContent ?? '')
    }).observe(document.querySelector('[role="log"]')!, { subtree: true, childList: true, characterData: true })
    for (const li of document.querySelectorAll('.feed li.event')) li.setAttribute('data-seen', '')
  })
  admin.events.push({ at: new Date().toISOString(), kind: 'reload', message: 'while away' })
  admin.live.disconnectAll() // the page reconnects and gets the whole backlog
  await page.locator('.feed li.event', { hasText: 'while away' }).waitFor()
  await page.waitForTimeout(300)
  const added = await page.evaluate(() => (window as unknown as { added: string[] }).added)
  t.equal(added.length, 1, 'one node added to the log')
  t.match(added[0], /while away/, 'the new event')
  t.equal(await page.locator('.feed li.event[data-seen]').count(), 3, 'the three shown before are the same nodes')
  t.equal(await entries.count(), 4)
})
