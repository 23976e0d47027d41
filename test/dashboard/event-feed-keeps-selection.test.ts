// A new event goes in at the top of the feed without touching the entries already there (review r41g: every event
// put all 200 back, so text an operator had selected in one was gone within a second or two, and the browser's
// scroll anchoring could not hold what they were reading). Entries that fall off the end are removed.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('a selection in an older entry survives new events', async (t) => {
  const { admin, page } = await openDashboard(t)
  const entries = page.locator('.feed li.event')
  for (const message of ['first', 'second']) admin.publish({ kind: 'drain', pool: 'payments', target: '10.0.1.11:8080', message })
  await waitUntil(async () => await entries.count() === 2, 5000)
  const before = 2
  // select the text of the second entry, as an operator copying it would
  const selected = await page.evaluate(() => {
    const li = document.querySelectorAll('.feed li.event')[1]!
    const range = document.createRange()
    range.selectNodeContents(li)
    const selection = window.getSelection()!
    selection.removeAllRanges()
    selection.addRange(range)
    return selection.toString()
  })
  t.ok(selected.length > 0)
  for (let i = 0; i < 3; i++) admin.publish({ kind: 'drain', pool: 'payments', target: '10.0.1.11:8080', message: `drain ${i}` })
  await waitUntil(async () => await entries.count() === before + 3, 5000)
  t.equal(await page.evaluate(() => window.getSelection()!.toString()), selected, 'the selection is as it was')
  t.match(await entries.first().innerText(), /drain 2/, 'the newest on top')
})
