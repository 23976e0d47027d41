// The dashboard as a screen reader reads it: the event feed is a named log around a plain list whose entries' parts
// read apart, and a reconnection does not read the backlog out again; "Needs attention" lines keep their nodes
// through ticks and snapshots; pool cards are headed, not 200 landmarks; and a stale page says so without fading its
// text. One browser for the file's tests.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

// The event feed to a screen reader (review r42c): a log region around a plain list (role=log on the <ol> itself
// took its list semantics: its items were orphan listitems), and an entry's parts read apart, not run together as
// "13:18:45breakerpool users…" (they are apart on screen only by flex gaps).
t.test('a log around a list; time, kind, scope and message read apart', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
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

// A reconnection's backlog repeats the events the feed already shows: those keep their nodes, and only events new
// to the page are added (review r42c: every entry was made again inside the live region, role=log, so a screen
// reader read the whole backlog out again on every reconnect and on entering the token).
t.test('a reconnect adds only the events it did not show', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
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

// "Needs attention" updates its lines in place (review r42c: the list was rebuilt on every snapshot and every 1 s
// tick, twice a second, so a screen reader's place in it and any text selected there were lost): a line stays the
// same node while its "since … (18 s)" moves on and while the state it names changes words.
t.test('a line survives ticks and snapshots; only its text changes', async (t) => {
  const { admin, page } = await openDashboard(t, { browser, admin: { failover: true } })
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

// A pool card is not a landmark (review r42c: each was a named <section>, so 200 pools were 200 regions in a screen
// reader's landmark list, burying main, the events and the page's own sections). A card is named by its heading.
t.test('no region per pool; each card has a heading naming its pool', async (t) => {
  const { admin, page } = await openDashboard(t, { browser })
  const pools = Object.keys(admin.status.pools)
  const regions = await page.getByRole('region').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('aria-label') ?? n.getAttribute('aria-labelledby')))
  t.ok(regions.length <= 3, `${regions.length} regions: ${regions.join(', ')}`)
  t.equal(await page.locator('[data-pool]').evaluateAll((cards) => cards.filter((c) => c.hasAttribute('aria-label') || c.hasAttribute('role')).length), 0, 'no card named or given a role')
  for (const pool of pools) {
    t.equal(await page.locator(`[data-pool="${pool}"]`).getByRole('heading', { level: 3, name: `pool ${pool}` }).count(), 1, `${pool}: its heading`)
  }
})

// While the live stream is down, what the page shows may be old: it says so with a banner and an outline as well as
// the badge, and its text keeps full contrast (review r42c: the whole of <main> was dimmed to opacity .55, below
// readable contrast just when an operator most needs to read it). Only the charts' lines fade.
t.test('stream down: a banner, no text faded; stream back: no banner', async (t) => {
  const { admin, page } = await openDashboard(t, { browser, admin: { failover: true } })
  await page.locator('section.pool .chart canvas').first().waitFor()
  t.ok(await page.locator('#stale').isHidden(), 'no banner while live')
  await page.route('**/live', (route) => route.abort())
  admin.live.disconnectAll()
  await page.locator('[data-connection="reconnecting"]').waitFor()
  t.ok(await page.locator('#stale').isVisible(), 'a banner says the state may be old')
  const faded = await page.evaluate(() => {
    const out: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const parent = node.parentElement
      if (parent === null || (node.textContent ?? '').trim() === '' || parent.offsetParent === null) continue
      if (parent.closest('.u-wrap') !== null) continue // a chart's plot area: lines, not text
      if (parent.closest(':disabled') !== null) continue // a control that does not apply looks off, stale or not
      let opacity = 1
      for (let n: Element | null = parent; n !== null; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity)
      if (opacity < 1) out.push(`${parent.tagName.toLowerCase()}.${parent.className}: ${opacity}`)
    }
    return out
  })
  t.same(faded.slice(0, 10), [], 'no text faded')
  await page.unroute('**/live')
  await page.locator('[data-connection="live"]').waitFor()
  t.ok(await page.locator('#stale').isHidden(), 'the banner goes once live again')
})
