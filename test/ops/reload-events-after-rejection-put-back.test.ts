// A rejected config is put right by putting the running one back: the reload finds the config unchanged, and the
// event feed says so (kind 'reload', at info). Before, the only trace was a 'config unchanged' log line, so /events
// and the dashboard's feed kept the rejection as their last word on the config while the reload gauge said 1 (review
// r37b). An unchanged reload with no rejection before it feeds nothing, as before (a file event for the same bytes).
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { adminRequest } from '../admin/admin-request.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("the feed's last word on the config follows the file back", async (t) => {
  const a = await TestUpstream.start({ name: 'a' })
  const base: GatewayConfig = { pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let next: GatewayConfig = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await a.close() })
  const kinds = async (): Promise<string[]> => ((await adminRequest(admin, 'GET', '/events')).body.events as { kind: string }[]).map((e) => e.kind)

  t.equal((await adminRequest(admin, 'POST', '/reload')).body.result, 'unchanged')
  t.same(await kinds(), [], 'an unchanged reload feeds nothing')

  next = { ...base, routes: [{ path: '/', pool: 'typo' }] }
  t.equal((await adminRequest(admin, 'POST', '/reload')).status, 422)
  t.same(await kinds(), ['reload-rejected'])

  next = base
  t.equal((await adminRequest(admin, 'POST', '/reload')).body.result, 'unchanged')
  t.same(await kinds(), ['reload-rejected', 'reload'], 'the running config back in place: the feed says so')
  const line = gw.logs.filter((l) => l.event === 'reload').at(-1)
  t.equal(line?.level, 30, 'at info')

  t.equal((await adminRequest(admin, 'POST', '/reload')).body.result, 'unchanged')
  t.same(await kinds(), ['reload-rejected', 'reload'], 'said once')
})
