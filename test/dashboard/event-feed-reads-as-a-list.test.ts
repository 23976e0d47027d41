// The event feed to a screen reader (review r42c): a log region around a plain list (role=log on the <ol> itself
// took its list semantics: its items were orphan listitems), and an entry's parts read apart, not run together as
// "13:18:45breakerpool users…" (they are apart on screen only by flex gaps).
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

t.test('a log around a list; time, kind, scope and message read apart', async (t) => {
  const { admin, page } = await openDashboard(t)
  admin.publish({ kind: 'breaker', pool: 'users', message: 'circuit breaker open' })
  admin.publish({ kind: 'reload', message: 'config reloaded' })
  await page.locator('.feed li.event', { hasText: 'config reloaded' }).waitFor()

  const structure = await page.evaluate(() => {
    const list = document.querySelector('.feed')!
    const log = document.querySelector('[role="log"]')
    return { listRole: list.getAttribute('role'), listTag: list.tagName, logContainsList: log !== null && log !== list && log.contains(list), logName: log?.getAttribute('aria-label') }
  })
  t.equal(structure.listRole, null, 'the list keeps its own role')
  t.equal(structure.listTag, 'OL')
  t.ok(structure.logContainsList, 'inside a log region')
  t.ok(structure.logName, 'the region has a name')
  t.equal((await page.getByRole('log').getByRole('listitem').count()) >= 2, true, 'its entries are list items')

  // in the text read out, a space or punctuation between every two parts
  const parts = await page.locator('.feed li.event').evaluateAll((items) => items.map((li) => ({
    text: li.textContent ?? '',
    parts: [...li.querySelectorAll('time, .event-kind, .event-scope, .event-message')].map((part) => part.textContent ?? ''),
  })))
  for (const { text, parts: shown } of parts) {
    let at = 0
    for (const [i, part] of shown.entries()) {
      const found = text.indexOf(part, at)
      t.ok(found >= 0, `"${part}" in "${text}"`)
      if (i > 0) t.match(text.slice(at, found), /^[\s\p{P}]+$/u, `a space or punctuation before "${part}" in "${text}"`)
      at = found + part.length
    }
  }
})
