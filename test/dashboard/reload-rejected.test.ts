// A rejected reload: its problems appear in the event feed at once, and only once, whichever of the 422 answer
// and the gateway's own event reaches the page first.
import t from 'tap'
import { launch } from './browser.ts'
import { openDashboard } from './dashboard-page.ts'
import { REJECTED_PROBLEMS } from './fixture.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)
const cases: [label: string, reloadEventDelayMs: number | undefined][] = [
  ['the gateway event comes before the answer', undefined],
  ['the answer comes first, the gateway event later', 800],
]

for (const [label, reloadEventDelayMs] of cases) {
  t.test(label, async (t) => {
    const { admin, page, errors } = await openDashboard(t, { admin: reloadEventDelayMs === undefined ? {} : { reloadEventDelayMs }, browser })
    await page.locator('#reload').click()
    await waitUntil(() => admin.calls.length === 1)
    t.equal(admin.calls[0]!.url, '/reload')

    const rejected = page.locator('.feed li.event[data-kind="reload-rejected"]')
    await rejected.first().waitFor()
    t.same(await rejected.first().locator('.problems li').allInnerTexts(), REJECTED_PROBLEMS)
    t.match(await page.locator('#action-status').innerText(), /Reload the config: failed \(422\)/)

    await waitUntil(() => admin.events.some((e) => e.kind === 'reload-rejected'), 3000)
    await page.waitForTimeout(700) // the gateway's event has had time to arrive
    t.equal(await rejected.count(), 1, 'one entry')
    t.notMatch(await rejected.innerText(), /reported to this page/, "it is the gateway's own by now")
    t.same(await rejected.locator('.problems li').allInnerTexts(), REJECTED_PROBLEMS)
    t.same(errors.filter((e) => !/status of 422/.test(e)), [], 'no error besides the 422 itself')
  })
}
