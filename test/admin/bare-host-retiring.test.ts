// A target named by its bare host (its URL's default port left out) while a reload has replaced it: the running
// copy and the retiring one (finishing a request) share the URL. The bare host names the running copy (it named
// both, and the drain was refused 404), and stays ambiguous when two running targets are written so (it fell
// through to the retiring copy, whose answer showed the other's state).
import { createServer, type ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { adminRequest } from './admin-request.ts'

// a loopback address of its own: port 80 there is free whatever else the machine runs
const HOST = '127.0.0.81'

/**
 * A gateway whose pool holds `http://HOST` (a server on port 80 holding every request) beside `others`, after a
 * reload that changed its weight while a request to it was held: its old copy is retiring. Undefined when port 80
 * cannot be bound (not root).
 */
async function withRetiringCopy (t: Test, others: string[]): Promise<{ admin: string } | undefined> {
  const held: ServerResponse[] = []
  const server = createServer((_req, res) => { held.push(res) })
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(80, HOST, () => resolve(true))
  })
  if (!bound) return undefined
  t.teardown(() => { for (const res of held) res.end(); server.closeAllConnections(); server.close() })
  const config = (weight: number): GatewayConfig => ({ pools: { p: { targets: [{ url: `http://${HOST}`, weight }, ...others] } }, routes: [{ path: '/', pool: 'p' }] })
  let next: unknown = config(1)
  const gw = await startGateway(config(1), { defaultMetrics: false, env: {}, load: async () => validateConfig(next) })
  t.teardown(async () => { for (const res of held) res.end(); await gw.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  // round-robin over the targets: requests until one is held at port 80 (the others are never listened on)
  const pending: Promise<unknown>[] = []
  while (held.length === 0 && pending.length < 10) {
    pending.push(fetch(`${gw.url}/slow`).then((r) => r.text(), () => ''))
    await waitFor(() => held.length > 0, 300).catch(() => {})
  }
  next = config(2)
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  // (an older copy of a running target is not listed in `retiring`: its request counts on the running copy)
  const running = gw.gateway.pools().get('p')!.pool.targets.find((x) => x.weight === 2)!
  t.ok(running.inFlight >= 1 && running.ownInFlight === 0, 'the old copy is retiring, holding the requests')
  t.teardown(async () => { for (const res of held) res.end(); await Promise.all(pending) })
  return { admin }
}

t.test('a bare host names the running target, not also its retiring copy', async (t) => {
  const gw = await withRetiringCopy(t, [])
  if (gw === undefined) return t.plan(0, 'port 80 cannot be bound here (not root)')
  const drained = await adminRequest(gw.admin, 'POST', `/pools/p/targets/${HOST}/drain`)
  t.equal(drained.status, 200, 'named by its bare host')
  t.equal((drained.body.target as { weight?: number } | undefined)?.weight, 2, 'the running copy')
})

t.test('a bare host two running targets share stays ambiguous while one has a retiring copy', async (t) => {
  // https://HOST is never contacted: no health checks, and the held request went to port 80
  const gw = await withRetiringCopy(t, [`https://${HOST}`])
  if (gw === undefined) return t.plan(0, 'port 80 cannot be bound here (not root)')
  const answer = await adminRequest(gw.admin, 'POST', `/pools/p/targets/${HOST}/disable`)
  t.equal(answer.status, 404)
  t.equal(answer.body.error, 'unknown_target')
})
