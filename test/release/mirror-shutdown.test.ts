// Shadow traffic is best-effort: closing the gateway aborts its mirror copies in flight (those begun before a reload
// too) rather than wait for them. A copy held by a hanging mirror pool held shutdown() and close() for that pool's
// requestMs, as closing its connections waited for the copy.
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { abortMirrors } from '../../src/release/plans.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream, type Tap } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

const MIRROR_DEADLINE_MS = 10_000

async function setup (t: Tap): Promise<{ gw: TestGateway; shadow: TestUpstream; open: Set<Socket>; reload (): Promise<void> }> {
  const v1 = await upstream(t, 'v1')
  const shadow = await upstream(t, 'shadow')
  shadow.mode = 'hang'
  const open = new Set<Socket>()
  shadow.server.on('request', (req) => {
    open.add(req.socket)
    req.socket.once('close', () => open.delete(req.socket))
  })
  const config = (requestMs: number): GatewayConfig => ({
    log: { level: 'silent' },
    shutdown: { delayMs: 0, timeoutMs: 300 },
    pools: { main: { targets: [v1.url], timeouts: { requestMs } }, shadow: { targets: [shadow.url], timeouts: { requestMs: MIRROR_DEADLINE_MS } } },
    routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
  })
  let next = config(30_000)
  const gw = await gateway(t, next, { defaultMetrics: false, load: async () => validateConfig(next) })
  return {
    gw,
    shadow,
    open,
    async reload () {
      next = config(30_001)
      t.equal((await gw.gateway.reload()).result, 'success')
    },
  }
}

t.test('abortMirrors ends every copy in flight at once, those begun before a reload too, and starts no more', async (t) => {
  const { gw, shadow, open, reload } = await setup(t)
  t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
  await reload()
  t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
  await waitFor(() => open.size === 2)
  const plan = (): { mirrorsInFlight: number } => [...gw.gateway.proxy.state.plans!.values()][0]!
  t.equal(plan().mirrorsInFlight, 2)

  abortMirrors(gw.gateway.proxy.state.plans)
  await waitFor(() => open.size === 0, 2000)
  t.equal(plan().mirrorsInFlight, 0, 'their slots are back')
  t.equal(gw.gateway.pools().get('shadow')!.pool.targets[0]!.failures, 0, 'no failure of the mirror target')

  t.equal((await httpRequest(`${gw.url}/c`)).status, 200, 'the client is served as before')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(shadow.hits, 2, 'no copy sent once aborted')
  t.equal(plan().mirrorsInFlight, 0)
})

t.test('a copy still queued for a connection when the copies are aborted is a client-abort, not busy', async (t) => {
  const v1 = await upstream(t, 'v1')
  const shadow = await upstream(t, 'shadow')
  shadow.mode = 'hang'
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [v1.url] }, shadow: { targets: [shadow.url], connections: { maxPerTarget: 1 }, timeouts: { requestMs: MIRROR_DEADLINE_MS } } },
    routes: [{ name: 'r', path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
  }, { defaultMetrics: false, env: {} })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!
  t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
  await waitFor(() => shadow.hits === 1)
  t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
  t.equal(target.queued, 1, "the second copy waits for the shadow's only connection")

  abortMirrors(gw.gateway.proxy.state.plans)
  await waitFor(() => plan.mirrorsInFlight === 0, 2000)
  t.equal(target.queued, 0, 'it left the queue')
  const series = seriesOf(await gw.gateway.metrics!.render())
  const attempts = (outcome: string): number | undefined => series[key('switchyard_upstream_attempts_total', { pool: 'shadow', target: target.id, outcome })]
  t.equal(attempts('client-abort'), 2, 'both copies, the started one and the queued one')
  t.equal(attempts('busy'), undefined, 'the queued copy was not refused by a busy target')
  t.equal(target.failures, 0)
})

for (const how of ['shutdown', 'close'] as const) {
  t.test(`${how}() does not wait for a hanging mirror`, async (t) => {
    const { gw, open, reload } = await setup(t)
    t.equal((await httpRequest(`${gw.url}/a`)).status, 200)
    await reload()
    t.equal((await httpRequest(`${gw.url}/b`)).status, 200)
    await waitFor(() => open.size === 2)
    const started = performance.now()
    await gw.gateway[how]()
    const ms = performance.now() - started
    t.ok(ms < 3000, `${how}() took ${ms.toFixed(0)} ms (the mirror's deadline is ${MIRROR_DEADLINE_MS} ms)`)
    await waitFor(() => open.size === 0, 2000)
  })
}
