// Opens the dashboard of a fake admin listener in headless Chromium; both closed in teardown.
import type { Page } from 'playwright-core'
import { launch, type Browser, type HasTeardown } from './browser.ts'
import { startFakeAdmin, type FakeAdmin, type FakeAdminOptions } from './fixture.ts'

export interface OpenDashboard {
  admin: FakeAdmin
  page: Page
  /** Requests to any other origin (aborted). */
  foreign: string[]
  /** Console errors and uncaught page errors. */
  errors: string[]
}

export interface OpenOptions {
  admin?: FakeAdminOptions
  viewport?: { width: number; height: number }
  /** Wait until the live stream is connected (default true). */
  waitLive?: boolean
  /** A browser the test file shares between its tests (launching one takes seconds); else one of its own. */
  browser?: Browser
}

export async function openDashboard (t: HasTeardown, options: OpenOptions = {}): Promise<OpenDashboard> {
  const admin = await startFakeAdmin(options.admin)
  t.teardown(() => admin.close())
  const browser = options.browser ?? await launch(t)
  const { page, foreign, errors } = await browser.open(admin.url, options.viewport)
  t.teardown(() => page.close())
  await page.goto(admin.url)
  if (options.waitLive !== false) await page.locator('[data-connection="live"]').waitFor()
  return { admin, page, foreign, errors }
}

/** The tile of one target. */
export function tile (page: Page, pool: string, target: string) {
  return page.locator(`[data-pool="${pool}"] li.tile[data-target="${target}"]`)
}
