// The all-clear ("✓ Nothing needs attention") shows only once a status says so (review r41h: a page waiting for its
// admin token showed it while the only pool was down, and the public route answered 503). Before the token, the
// page knows nothing of the gateway's state; once it has it, a pool with no target is the line it shows instead.
import t from 'tap'
import { openDashboard } from './dashboard-page.ts'

const TOKEN = 'all-clear-test-token-0123456789abcdef'

t.test('no all-clear before the first status; the problem once the token brings it', async (t) => {
  const { admin, page } = await openDashboard(t, { admin: { token: TOKEN }, waitLive: false })
  for (const target of admin.pool('payments').targets) target.state = 'disabled'
  admin.pool('payments').activeTier = 'none'
  await page.locator('#token').waitFor()
  await page.locator('[data-connection="unauthorized"]').waitFor()
  t.ok(await page.locator('.all-clear').isHidden(), 'no all-clear while nothing is known')
  await page.locator('#token').fill(TOKEN)
  await page.locator('#token-form button[type="submit"]').click()
  await page.locator('[data-connection="live"]').waitFor()
  await page.locator('.attention li', { hasText: 'pool payments: no target available' }).waitFor()
  t.ok(await page.locator('.all-clear').isHidden(), 'the problem, not the all-clear')
})
