// The dashboard against a real gateway and real upstreams: a killed target turns unhealthy on the page within
// 3 s without a reload, an open breaker shows, the drain button drains the target (checked through /status), and a
// reload of a bad config shows its errors in the event feed.
import t from 'tap'
import { ConfigError } from '../../src/errors.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { launch } from './browser.ts'
import { tile } from './dashboard-page.ts'

t.test('the dashboard follows a real gateway and acts on it', async (t) => {
  const [u1, u2, other] = await Promise.all([TestUpstream.start({ name: 'u1' }), TestUpstream.start({ name: 'u2' }), TestUpstream.start({ name: 'other' })])
  let badReload = false
  const config = {
    pools: {
      api: { targets: [u1.url, u2.url], healthCheck: { path: '/health', intervalMs: 200, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 1 } },
      users: { targets: [other.url] },
    },
    routes: [{ path: '/api', pool: 'api' }, { path: '/users', pool: 'users' }],
  }
  const gw = await startGateway(config, {
    defaultMetrics: false,
    // a reload reads this: the second time, a config with two problems
    load: async () => {
      if (badReload) throw new ConfigError(['pools.api.targets[0].url: must use http:// or https:// (not ftp://)', "routes[1].pool: names unknown pool 'ghost'"])
      return gw.gateway.config
    },
  })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await Promise.all([u1.close(), u2.close(), other.close()]) })
  const id = (u: TestUpstream): string => new URL(u.url).host

  const browser = await launch(t)
  const { page, foreign, errors } = await browser.open(admin)
  await page.goto(admin)
  await page.locator('[data-connection="live"]').waitFor()
  await tile(page, 'api', id(u1)).waitFor()
  // healthy, once a probe has answered in time: on a loaded machine one 200 ms probe may time out first (and the
  // next, 200 ms later, puts it back), so this waits for the state rather than reading it once
  const healthy = await page.locator(`[data-pool="api"] li.tile[data-target="${id(u1)}"][data-state="healthy"]`).waitFor().then(() => true, () => false)
  t.ok(healthy, 'healthy on the page')
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1 })

  // kill a target: its health checks fail, the page shows it within 3 s
  await u1.refuse()
  const killed = Date.now()
  await page.locator(`[data-pool="api"] li.tile[data-target="${id(u1)}"][data-state="unhealthy"]`).waitFor()
  t.ok(Date.now() - killed < 3000, 'unhealthy on the page within 3 s')

  // open a breaker
  gw.gateway.pools().get('users')!.breaker.force('open')
  await page.locator('[data-pool="users"] [data-circuit="open"]').waitFor()
  t.pass('the open breaker shows')

  // drain from the page: the gateway's /status says so
  await tile(page, 'api', id(u2)).getByRole('button', { name: `drain ${id(u2)} in pool api` }).click()
  await page.locator(`[data-pool="api"] li.tile[data-target="${id(u2)}"][data-state="drained"]`).waitFor()
  const status = await (await fetch(`${admin}/status`)).json() as { pools: Record<string, { targets: { id: string; state: string }[] }> }
  t.equal(status.pools.api!.targets.find((x) => x.id === id(u2))!.state, 'drained', '/status: drained')

  // a reload with a bad config: the errors appear in the event feed
  badReload = true
  await page.locator('#reload').click()
  const rejected = page.locator('.feed li.event[data-kind="reload-rejected"]').first()
  await rejected.waitFor()
  t.match(await rejected.innerText(), /unknown pool 'ghost'/)
  t.match(await rejected.innerText(), /not ftp:\/\//)
  t.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1, 'never reloaded')
  t.strictSame(foreign, [], 'nothing loaded from elsewhere')
  t.strictSame(errors.filter((e) => !/422|Unprocessable/.test(e)), [], 'no console errors besides the rejected reload')
})
