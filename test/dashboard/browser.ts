// Headless Chromium (Debian's package) driven by playwright-core, with a fresh profile, for the dashboard's tests.
// Every request the page makes is checked: only the admin listener's own origin may be reached; anything else
// is recorded and aborted. Console errors (CSP violations included) and page errors are recorded too.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
]

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

/** One browser per test file; closed, and its profile deleted, in teardown. */
export async function launch (t: HasTeardown): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'switchyard-dash-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  })
  t.teardown(async () => {
    await context.close()
    await rm(profile, { recursive: true, force: true })
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
