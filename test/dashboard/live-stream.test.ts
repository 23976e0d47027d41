// The live stream under Playwright's clock: a drop shown at once, the silence watchdog re-armed by every message
// and firing after 40 s of silence, and countdowns moving on between snapshots. A clock installed on one page stays
// installed for the later pages of the browser (Playwright replays it, paused): the stream tests cope with that, as
// each drives the clock itself; the countdown, which needs real time to pass before its pauseAt, has its own browser.
import t from 'tap'
import type { Page } from 'playwright-core'
import { launch, type HasTeardown } from './browser.ts'
import { startFakeAdmin, type FakeAdmin } from './fixture.ts'
import { waitUntil } from './wait.ts'

const browser = await launch(t)

/** The dashboard of a fresh stand-in admin on Playwright's clock, live; `prepare` runs in the page before its script. */
async function liveOnClock (t: HasTeardown, prepare?: () => void): Promise<{ admin: FakeAdmin; page: Page }> {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  const { page } = await browser.open(admin.url)
  t.teardown(() => page.close())
  if (prepare !== undefined) await page.addInitScript(prepare)
  await page.clock.install()
  await page.goto(admin.url)
  await page.locator('[data-connection="live"]').waitFor()
  return { admin, page }
}

// When the live stream drops, the page says so at once ("reconnecting", what it shows marked stale), before it
// waits out its backoff to reconnect; it must not go on claiming "live" during the wait. Playwright's clock holds
// the backoff so the wait is visible.
t.test('a dropped stream reads "reconnecting" during the backoff', async (t) => {
  const { admin, page } = await liveOnClock(t)
  await page.clock.pauseAt(Date.now() + 1000)
  admin.live.disconnectAll()
  await page.locator('[data-connection="reconnecting"]').waitFor()
  t.ok(await page.evaluate(() => document.body.classList.contains('stale')), 'marked stale')
  await page.clock.fastForward(2_000) // the retry the stream asked for
  await page.locator('[data-connection="live"]').waitFor()
  t.notOk(await page.evaluate(() => document.body.classList.contains('stale')), 'live again after the backoff')
})

// After the stream ends, the page waits as long as the stream's retry field asked (2 s from the admin listener),
// not its own 1 s default: the listener sets how fast every open dashboard comes back after it dropped them all
// (a reload, a restart), so a page that ignored it would come back sooner, all pages at once. The page's fetches of
// /live are counted (a wrapper installed before the page's script) on Playwright's clock.
t.test("the reconnect waits out the stream's retry hint", async (t) => {
  const { admin, page } = await liveOnClock(t, () => {
    const w = window as unknown as { liveFetches: number }
    w.liveFetches = 0
    const original = window.fetch.bind(window)
    window.fetch = (input, init) => {
      if (new URL(input instanceof Request ? input.url : String(input), location.href).pathname.endsWith('/live')) w.liveFetches++
      return original(input, init)
    }
  })
  await page.clock.pauseAt(Date.now() + 1000)
  const fetches = (): Promise<number> => page.evaluate(() => (window as unknown as { liveFetches: number }).liveFetches)
  t.equal(await fetches(), 1)
  admin.live.disconnectAll()
  await page.locator('[data-connection="reconnecting"]').waitFor()
  await page.clock.runFor(1500)
  t.equal(await fetches(), 1, 'not back after 1.5 s')
  await page.clock.runFor(600)
  await page.locator('[data-connection="live"]').waitFor()
  t.equal(await fetches(), 2, 'back after 2 s')
})

// While the admin listener stays unreachable, the page's wait between attempts doubles up to 10 s and stays there:
// a dashboard left open through an outage must come back within 10 s of the listener's return, not after a wait
// that grew without bound (16 s, 32 s, ...). Attempts to reach /live are refused in the page (a wrapper installed
// before its script) and their times read on Playwright's clock, stepped a second at a time.
t.test('reconnect attempts back off to at most 10 s apart', async (t) => {
  const { admin, page } = await liveOnClock(t, () => {
    const w = window as unknown as { refuseLive: boolean; refused: number[] }
    w.refuseLive = false
    w.refused = []
    const original = window.fetch.bind(window)
    window.fetch = (input, init) => {
      const live = new URL(input instanceof Request ? input.url : String(input), location.href).pathname.endsWith('/live')
      if (live && w.refuseLive) {
        w.refused.push(Date.now())
        return Promise.reject(new TypeError('refused'))
      }
      return original(input, init)
    }
  })
  await page.clock.pauseAt(Date.now() + 1000)
  await page.evaluate(() => { (window as unknown as { refuseLive: boolean }).refuseLive = true })
  admin.live.disconnectAll()
  await page.locator('[data-connection="reconnecting"]').waitFor()
  for (let s = 0; s < 40; s++) await page.clock.runFor(1000)
  const refused = await page.evaluate(() => (window as unknown as { refused: number[] }).refused)
  const gaps = refused.slice(1).map((at, i) => at - refused[i]!)
  t.same(gaps.slice(0, 4), [4000, 8000, 10_000, 10_000], 'doubling, then 10 s')
})

// Every message on the live stream restarts the 40 s silence watchdog: a stream that keeps talking is never
// dropped, however long it has been open (a watchdog armed at connect and never re-armed would drop it every 40 s).
t.test('a stream with a message every 30 s stays live', async (t) => {
  const { admin, page } = await liveOnClock(t)
  await page.clock.pauseAt(Date.now() + 1000)
  const feed = page.locator('.feed li.event')
  for (let i = 1; i <= 3; i++) {
    await page.clock.fastForward(30_000)
    // a message arrives (an event): the page must still be reading the stream to show it
    admin.publish({ kind: 'reload', message: `reload ${i}` })
    await waitUntil(async () => await feed.count() === i, 3000)
  }
  t.equal(await page.locator('#connection').getAttribute('data-connection'), 'live')
})

// A live stream that says nothing for 40 s (not even the 15 s heartbeat) is taken for dead: the page drops it and
// shows it is reconnecting, rather than showing stale state as live. The browser's clock is Playwright's, so the
// 40 s pass at once.
t.test('40 s of silence: reconnecting', async (t) => {
  const { page } = await liveOnClock(t)
  // every state the badge goes through (the reconnect may follow within the same jump of the clock)
  await page.evaluate(() => {
    const seen: string[] = []
    ;(window as unknown as { seen: string[] }).seen = seen
    const badge = document.getElementById('connection')!
    new MutationObserver(() => seen.push(`${badge.dataset.connection} ${document.body.classList.contains('stale') ? 'stale' : 'fresh'}`))
      .observe(badge, { attributes: true, attributeFilter: ['data-connection'] })
  })
  // the browser's clock jumps 45 s at once (as a laptop's that slept): nothing arrived in those 45 s
  await page.clock.fastForward(45_000)
  const seen = (): Promise<string[]> => page.evaluate(() => (window as unknown as { seen: string[] }).seen)
  await waitUntil(async () => (await seen()).length > 0, 3000)
  t.equal((await seen())[0], 'reconnecting stale', 'dropped, and what the page shows is marked stale')
})

// Countdowns move on between snapshots: "half-open in 30 s" counts down from the gateway's time of the snapshot
// plus the time elapsed in the page since it came. Playwright's clock moves the page's time by 10 s at once.
t.test('an open breaker counts down between snapshots', async (t) => {
  const admin = await startFakeAdmin()
  t.teardown(() => admin.close())
  Object.assign(admin.pool('users'), { circuit: 'open', circuitRetryAfterSeconds: 30 })
  // a browser of its own: Playwright replays a context's earlier clock calls on every new page, so in the shared
  // browser this page would load with its clock paused and the time before pauseAt would not count
  const browser = await launch(t)
  const { page } = await browser.open(admin.url)
  t.teardown(() => page.close())
  await page.clock.install()
  await page.goto(admin.url)
  const circuit = page.locator('[data-pool="users"] [data-circuit="open"]')
  await circuit.waitFor()
  await page.clock.pauseAt(Date.now() + 1000)
  t.match(await circuit.innerText(), /half-open in (2[6-9]|30) s/)
  await page.clock.fastForward(10_000)
  // 20 when a snapshot (the stand-in's breaker always says 30 s) came in after the pause; a frozen countdown says 26-30
  t.match(await circuit.innerText(), /half-open in (1[6-9]|20) s/)
})
