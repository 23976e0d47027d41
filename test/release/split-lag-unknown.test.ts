// A lag-limited replica pool fails closed on lag it does not know (README "Read/write split"): a lagging replica
// whose health check then passes without a valid lag (a header 'unknown', '-1', '5e3', none at all, a JSON null or
// "5000", a body that does not parse) stays lagging and takes no reads; a replica a reload adds takes none before
// a probe has reported its lag. Before, both took reads: a replica 10 minutes behind served them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

const SECRET = 'a-shared-secret-of-32-characters!!'
const HEALTH = { path: '/health', intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 2, jitter: 0 }

interface HealthAnswer { headers: Record<string, string>; body?: string }

/** A replica whose /health answers what the test says, after `delayMs`; other requests answer its name. */
async function scriptedReplica (t: Test, name: string, answer: { health: HealthAnswer; delayMs?: number }) {
  const served = { reads: 0, probes: 0 }
  const { url } = await serveOnLoopback(t, (req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    req.once('end', () => {
      if (req.url !== '/health') {
        served.reads++
        res.writeHead(200, { 'x-upstream': name }).end(name)
        return
      }
      const reply = (): void => {
        served.probes++
        res.writeHead(200, { 'content-type': 'text/plain', ...answer.health.headers }).end(answer.health.body ?? 'ok')
      }
      if (answer.delayMs !== undefined) setTimeout(reply, answer.delayMs)
      else reply()
    })
  })
  return { url, served }
}

const config = (primary: string, replicas: string[], healthCheck = HEALTH): GatewayConfig => ({
  log: { level: 'warn' },
  secret: SECRET,
  pools: { primary: { targets: [primary] }, replicas: { targets: replicas, healthCheck, retry: { attempts: 1 } } },
  routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 3000, maxLagMs: 1000 } }],
})

const stateOf = (gw: TestGateway, url: string): string | undefined => gw.gateway.status().pools.replicas!.targets.find((x) => x.url === url)?.state

t.test('a lagging replica whose health check passes without a valid lag stays lagging, for every such answer', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const inSync = await TestUpstream.start({ name: 'in-sync' })
  t.teardown(() => Promise.all([primary.close(), inSync.close()]))
  inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
  const answer = { health: { headers: { 'x-replication-lag-ms': '5000' } } as HealthAnswer }
  const behind = await scriptedReplica(t, 'behind', answer)
  const gw = await startGateway(config(primary.url, [inSync.url, behind.url]), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const cases: [string, HealthAnswer][] = [
    ['header unknown', { headers: { 'x-replication-lag-ms': 'unknown' } }],
    ['header -1', { headers: { 'x-replication-lag-ms': '-1' } }],
    ['header 5e3', { headers: { 'x-replication-lag-ms': '5e3' } }],
    ['no lag header', { headers: {} }],
    ['JSON null', { headers: { 'content-type': 'application/json' }, body: '{"replicationLagMs":null}' }],
    ['JSON string', { headers: { 'content-type': 'application/json' }, body: '{"replicationLagMs":"5000"}' }],
    ['JSON that does not parse', { headers: { 'content-type': 'application/json' }, body: '{oops' }],
  ]
  for (const [name, health] of cases) {
    answer.health = { headers: { 'x-replication-lag-ms': '5000' } }
    await waitFor(() => stateOf(gw, behind.url) === 'lagging' && stateOf(gw, inSync.url) === 'healthy')
    answer.health = health
    const probes = behind.served.probes
    await waitFor(() => behind.served.probes >= probes + 3) // three passing probes with the new answer
    t.equal(stateOf(gw, behind.url), 'lagging', `${name}: still lagging`)
    const before = behind.served.reads
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await httpRequest(`${gw.url}/m/1`)).status)
    t.strictSame(statuses, [200, 200, 200, 200, 200, 200], `${name}: reads answered`)
    t.equal(behind.served.reads, before, `${name}: no read reached it`)
  }
  // and a valid report of having caught up lets it back
  answer.health = { headers: { 'x-replication-lag-ms': '20' } }
  await waitFor(() => stateOf(gw, behind.url) === 'healthy')
})

t.test('a replica a reload adds takes no read before a probe has reported its lag', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  const inSync = await TestUpstream.start({ name: 'in-sync' })
  t.teardown(() => Promise.all([primary.close(), inSync.close()]))
  inSync.healthHeaders = { 'x-replication-lag-ms': '10' }
  // far behind, and its health check takes a while to say so (it asks its database)
  const added = await scriptedReplica(t, 'added', { health: { headers: { 'x-replication-lag-ms': '600000' } }, delayMs: 300 })
  const slowHealth = { ...HEALTH, intervalMs: 2000, timeoutMs: 1000 }
  let next = config(primary.url, [inSync.url], slowHealth)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready' && stateOf(gw, inSync.url) === 'healthy')
  next = config(primary.url, [inSync.url, added.url], slowHealth)
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(stateOf(gw, added.url), 'lagging', 'lagging (unknown) from the reload on')
  const statuses = new Set<number>()
  const until = Date.now() + 400
  while (Date.now() < until) statuses.add((await httpRequest(`${gw.url}/m/1`)).status)
  t.strictSame([...statuses], [200])
  t.equal(added.served.probes, 1, 'its first probe has answered meanwhile')
  t.equal(added.served.reads, 0, 'no read reached it before, nor after, its probe said it is 10 minutes behind')
  t.equal(stateOf(gw, added.url), 'lagging')
})
