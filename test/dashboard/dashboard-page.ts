// Opens the dashboard of a fake admin listener in headless Chromium; both closed in teardown.
import type { Page } from 'playwright-core'
import { launch, type HasTeardown } from './browser.ts'
import { startFakeAdmin, type FakeAdmin, type FakeAdminOptions } from './fixture.ts'

export interface OpenDashboard {
  admin: FakeAdmin
  page: Page
  /** Requests to any other origin (aborted). */
  foreign: string[]
  /** Console errors and uncaught page errors. */
  errors: string[]
}

export async function openDashboard (
  t: HasTeardown, options: FakeAdminOptions = {}, viewport = { width: 1280, height: 800 }, waitLive = true,
): Promise<OpenDashboard> {
  const admin = await startFakeAdmin(options)
  t.teardown(() => admin.close())
  const browser = await launch(t)
  const { page, foreign, errors } = await browser.open(admin.url, viewport)
  await page.goto(admin.url)
  if (waitLive) await page.locator('[data-connection="live"]').waitFor({ timeout: 5000 })
  return { admin, page, foreign, errors }
}

/** The tile of one target. */
export function tile (page: Page, pool: string, target: string) {
  return page.locator(`[data-pool="${pool}"] li.tile[data-target="${target}"]`)
}
