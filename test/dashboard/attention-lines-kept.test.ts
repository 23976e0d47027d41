// "Needs attention" updates its lines in place (review r42c: the list was rebuilt on every snapshot and every 1 s
// tick, twice a second, so a screen reader's place in it and any text selected there were lost): a line stays the
// same node while its "since … (18 s)" moves on and while the state it names changes words.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

t.test('a line survives ticks and snapshots; only its text changes', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { failover: true } })
  const line = page.locator('.attention li', { hasText: 'pool users: circuit open' })
  await line.waitFor()
  await line.evaluate((li) => li.setAttribute('data-mark', ''))
  const since = await line.locator('.since').innerText()
  admin.changed() // a snapshot
  await waitUntil(async () => await line.locator('.since').innerText() !== since, 5000)
  t.equal(await page.locator('.attention li[data-mark]').count(), 1, 'the same node after the clock moved')
  t.match(await page.locator('.attention li[data-mark]').innerText(), /pool users: circuit open/)

  admin.pool('users').circuit = 'half-open'
  admin.changed()
  await page.locator('.attention li', { hasText: 'pool users: circuit half-open' }).waitFor()
  t.equal(await page.locator('.attention li[data-mark]').innerText().then((text) => /circuit half-open/.test(text)), true, 'the same node says half-open now')
  t.equal(await page.locator('.attention li[data-mark]').getAttribute('class'), 'tone-warn', 'and is a warning')
})
