// A reload that changes a setting only a restart applies (server.port, server.maxHeaderBytes, …) leaves the process
// running with the value it started with, and says so until that is resolved: /status lists the waiting settings
// (restartRequired, beside the hash of the config last applied), and every later reload repeats them (its diff, its
// log line), whatever else it changes. A reload back to the running value clears it. Before, the setting was named
// once, in the reload that changed it, and then forgotten while /status's configHash described a config not in force.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { adminRequest } from '../admin/admin-request.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('settings waiting for a restart are shown and repeated until a reload puts them back', async (t) => {
  const [a, b] = [await TestUpstream.start({ name: 'a' }), await TestUpstream.start({ name: 'b' })]
  const base: GatewayConfig = { pools: { p: { targets: [a.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let next: unknown = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...(next as GatewayConfig) }) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await a.close(); await b.close() })
  const status = async (): Promise<Record<string, unknown>> => (await adminRequest(admin, 'GET', '/status')).body
  const reload = async (): Promise<Record<string, unknown>> => (await adminRequest(admin, 'POST', '/reload')).body
  const restartRequiredOf = (body: Record<string, unknown>): unknown => (body.diff as { restartRequired: string[] }).restartRequired
  const BOTH = ['server.maxHeaderBytes', 'server.port']

  t.strictSame((await status()).restartRequired, [], 'nothing waits at start')

  const moved: GatewayConfig = { ...base, server: { port: 18081, maxHeaderBytes: 2048 } }
  next = moved
  const first = await reload()
  t.equal(first.result, 'success')
  t.strictSame(restartRequiredOf(first), BOTH)
  let doc = await status()
  t.strictSame(doc.restartRequired, BOTH, '/status lists them')
  t.equal(doc.configHash, first.hash, 'beside the hash of the config last applied')

  next = { ...moved, pools: { p: { targets: [b.url] } } }
  const second = await reload()
  t.equal(second.result, 'success')
  t.strictSame(restartRequiredOf(second), BOTH, 'a later reload that changes something else repeats them')
  t.strictSame(gw.logs.filter((l) => l.event === 'reload').map((l) => (l.diff as { restartRequired: string[] }).restartRequired), [BOTH, BOTH], 'in its log line too')
  t.strictSame((await status()).restartRequired, BOTH)

  t.equal((await reload()).result, 'unchanged')
  t.strictSame(gw.logs.filter((l) => l.msg.startsWith('config unchanged')).map((l) => l.restartRequired), [BOTH], 'an unchanged reload repeats them')
  next = { ...base, routes: [{ path: '/', pool: 'missing' }] }
  t.equal((await adminRequest(admin, 'POST', '/reload')).status, 422)
  t.strictSame(gw.logs.filter((l) => l.event === 'reload-rejected').map((l) => l.restartRequired), [BOTH], 'so does a refused one')

  next = { ...base, server: { maxHeaderBytes: 2048 }, pools: { p: { targets: [b.url] } } }
  const third = await reload()
  t.strictSame(restartRequiredOf(third), ['server.maxHeaderBytes'], 'the port back to the running one: no longer waiting')
  t.strictSame((await status()).restartRequired, ['server.maxHeaderBytes'])
  const big = await fetch(`${gw.url}/x`, { headers: { 'x-big': 'a'.repeat(4000) } })
  t.equal(big.status, 200, 'the parser still takes what the process started with')

  next = { ...base, pools: { p: { targets: [b.url] } } }
  const fourth = await reload()
  t.strictSame(restartRequiredOf(fourth), [])
  doc = await status()
  t.strictSame(doc.restartRequired, [], 'all resolved')
  t.equal(doc.configHash, fourth.hash)

  // nothing waiting: a later unchanged or refused reload names no setting (an empty list would read as a restart
  // needed for nothing)
  t.equal((await reload()).result, 'unchanged')
  t.ok(gw.logs.filter((l) => l.msg.startsWith('config unchanged')).at(-1)!.restartRequired === undefined, 'an unchanged reload names none')
  next = { ...base, routes: [{ path: '/', pool: 'missing' }] }
  t.equal((await adminRequest(admin, 'POST', '/reload')).status, 422)
  t.ok(gw.logs.filter((l) => l.event === 'reload-rejected').at(-1)!.restartRequired === undefined, 'nor does a refused one')
})
