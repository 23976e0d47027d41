// Headless Chromium (Debian's package) driven by playwright-core, a fresh context per test file, for the dashboard's tests.
// Every request the page makes is checked: only the admin listener's own origin may be reached; anything else
// is recorded and aborted. Console errors (CSP violations included) and page errors are recorded too.
import { chromium, type Browser as PlaywrightBrowser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

/**
 * How long a page may take to show a state before the test fails. Generous: four test processes and their browsers
 * share two cores, and a slow host once took over 5 s to open the live stream. Tests that time how fast something
 * shows measure it themselves.
 */
export const SHOWN_WITHIN_MS = 20_000

export interface HasTeardown { teardown (fn: () => unknown): void }

export interface Browser {
  context: BrowserContext
  /** A new page on `origin`; requests elsewhere go to `foreign`, console errors to `errors`. */
  open (origin: string, viewport?: { width: number; height: number }): Promise<WatchedPage>
}

export interface WatchedPage {
  page: Page
  foreign: string[]
  errors: string[]
}

let shared: { browser: Promise<PlaywrightBrowser>; contexts: number } | undefined

/**
 * A fresh context (its own storage, as a new profile) in the process's one browser: the suite runs several test
 * files in one process (test/plan.ts), and a browser's start costs more than most of their tests. The context is
 * closed in teardown, and the browser with the last one.
 */
export async function launch (t: HasTeardown): Promise<Browser> {
  shared ??= { browser: chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }), contexts: 0 }
  const mine = shared
  mine.contexts++
  const context = await (await mine.browser).newContext({ viewport: { width: 1280, height: 800 } })
  context.setDefaultTimeout(SHOWN_WITHIN_MS)
  t.teardown(async () => {
    await context.close()
    if (--mine.contexts > 0) return
    if (shared === mine) shared = undefined
    await (await mine.browser).close()
  })
  return {
    context,
    async open (origin, viewport = { width: 1280, height: 800 }) {
      const page = await context.newPage()
      await page.setViewportSize(viewport)
      const foreign: string[] = []
      const errors: string[] = []
      await page.route('**/*', async (route) => {
        const url = route.request().url()
        if (url.startsWith(`${origin}/`) || url === origin || url.startsWith('data:')) return route.continue()
        foreign.push(url)
        return route.abort('blockedbyclient')
      })
      page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()) })
      page.on('pageerror', (error) => errors.push(String(error)))
      return { page, foreign, errors }
    },
  }
}
