// A pool a reload removed is gone from the dashboard's traffic history: its retired runtime emptying itself used to
// track it again, so every pool ever removed came back and was sampled every second for good.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('removed pools leave the traffic history', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (extra: string | undefined): GatewayConfig => ({
    pools: { keep: { targets: [u.url] }, ...(extra === undefined ? {} : { [extra]: { targets: [u.url] } }) },
    routes: [{ path: '/', pool: 'keep' }],
  })
  let next = config(undefined)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  for (let i = 0; i < 5; i++) {
    next = config(`gone${i}`)
    t.equal((await gw.gateway.reload('admin')).result, 'success', `gone${i} added`)
    next = config(undefined)
    t.equal((await gw.gateway.reload('admin')).result, 'success', `gone${i} removed`)
  }
  // retired pools empty themselves once their last request ends: give them the turn to do it
  await new Promise((resolve) => setTimeout(resolve, 50))
  const history = await (await fetch(`${admin}/history`)).json() as { pools: Record<string, unknown>; targets: Record<string, unknown> }
  t.strictSame(Object.keys(history.pools), ['keep'], 'only the running pool has points')
  t.strictSame(Object.keys(history.targets), ['keep'], 'and targets')
})
