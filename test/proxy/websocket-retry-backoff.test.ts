// A WebSocket handshake waiting out a connect-failure retry's backoff, as a request's retry does (retry-loop.ts):
// a reload meanwhile sends the retry to the pool running under the name then (a rebuilt pool's targets are new, the
// retired one's close), with that pool's settings, and to a target not tried yet, whatever copy of the dead one
// the reload made; a pool the reload removed has none to give. A client cut then for sending too much before its
// 101 is logged as such, as one cut while the handshake is out.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { refusedUrl, upstream, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

type PoolConfig = GatewayConfig['pools'][string]

/** With random 0.5 the first retry waits half of baseMs, on the manual clock. */
const BACKOFF_MS = 500

interface Setup {
  gw: TestGateway
  clock: ManualClock
  dead: string
  live: TestUpstream
  /** The dead primary's failures, over every copy of it the pool has. */
  deadFailures (): number
  reload (config: GatewayConfig): Promise<void>
}

/** Pool p: a primary that refuses connections and a live backup; each first attempt fails to connect. */
function config (dead: string, live: TestUpstream, change: Partial<PoolConfig> = {}, deadWeight = 1): GatewayConfig {
  return {
    pools: {
      p: {
        targets: [{ url: dead, weight: deadWeight }, { url: live.url, backup: true }],
        retry: { attempts: 2, retryOn: ['connect-failure'], backoff: { baseMs: 2 * BACKOFF_MS, maxMs: 2 * BACKOFF_MS } },
        outlier: { enabled: false },
        ...change,
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }
}

async function setup (t: Tap): Promise<Setup> {
  const dead = await refusedUrl(t)
  const live = await upstream(t, 'live')
  const clock = new ManualClock()
  let next = config(dead, live)
  const gw = await startGateway(next, { defaultMetrics: false, clock, random: () => 0.5, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  return {
    gw, clock, dead, live,
    deadFailures: () => gw.gateway.pools().get('p')!.pool.targets.filter((x) => x.url === dead).reduce((n, x) => n + x.failures, 0),
    async reload (c) {
      next = c
      t.equal((await gw.gateway.reload()).result, 'success', 'reloaded')
    },
  }
}

/** Sends a handshake and waits until its first attempt has failed and its retry waits out the backoff. */
async function inBackoff (t: Tap, s: Setup, requestId: string): Promise<{ answer: ReturnType<typeof rawRequest> }> {
  const answer = rawRequest(portOf(s.gw.url), wsHandshake('/ws', requestId))
  await waitFor(() => s.deadFailures() === 1)
  t.ok(s.clock.dueIn().includes(BACKOFF_MS), 'the retry waits out its backoff')
  return { answer } // wrapped: an async function would wait for the answer it returned
}

function upgradeLine (gw: TestGateway): Record<string, unknown> | undefined {
  return gw.accessLogs().find((l) => l.upgrade === true)
}

t.test('a reload that rebuilds the pool during the backoff: the retry goes to the running pool, with its preserveHost', async (t) => {
  const s = await setup(t)
  const { answer } = await inBackoff(t, s, 'rebuilt')
  // preserveHost (true by default) is a pool setting: the reload builds a new runtime, and retires the one the handshake came in on
  const before = s.gw.gateway.pools().get('p')
  await s.reload(config(s.dead, s.live, { preserveHost: false }))
  t.not(s.gw.gateway.pools().get('p'), before, 'the pool was rebuilt')
  s.clock.advance(BACKOFF_MS)
  const res = await answer
  t.equal(res.status, 101)
  t.equal(s.live.requests.length, 1, 'the live target got the retry')
  t.equal(s.live.requests[0]!.headers.host, `127.0.0.1:${s.live.port}`, 'with the target\'s Host, as the running pool does not preserve the client\'s')
  t.equal(s.live.requests[0]!.rawHeaders.filter((h) => h.toLowerCase() === 'host').length, 1, 'and only that one')
  await waitFor(() => upgradeLine(s.gw) !== undefined)
  t.match(upgradeLine(s.gw), { status: 101, attempts: 2, target: s.live.url })
})

t.test('a reload that only re-weights the dead target during the backoff: the retry does not go back to it', async (t) => {
  const s = await setup(t)
  const { answer } = await inBackoff(t, s, 'reweighted')
  const kept = s.gw.gateway.pools().get('p')
  await s.reload(config(s.dead, s.live, {}, 2))
  t.equal(s.gw.gateway.pools().get('p'), kept, 'the pool was kept, the target made anew')
  s.clock.advance(BACKOFF_MS)
  const res = await answer
  t.equal(res.status, 101)
  t.equal(s.deadFailures(), 1, 'the dead upstream was not tried again')
  t.equal(s.live.requests.length, 1, 'the live backup got the retry')
  await waitFor(() => upgradeLine(s.gw) !== undefined)
  t.match(upgradeLine(s.gw), { status: 101, attempts: 2, target: s.live.url })
})

t.test('a reload that removes the pool during the backoff: 502 upstream_unreachable, nothing sent', async (t) => {
  const s = await setup(t)
  const { answer } = await inBackoff(t, s, 'removed')
  const other = await upstream(t, 'other')
  await s.reload({ pools: { q: { targets: [other.url] } }, routes: [{ path: '/', pool: 'q' }] })
  s.clock.advance(BACKOFF_MS)
  const res = await answer
  t.equal(res.status, 502)
  t.equal(res.json().error, 'upstream_unreachable')
  t.equal(s.live.requests.length + other.requests.length, 0, 'no upstream got a retry')
  t.match(upgradeLine(s.gw), { status: 502, error: 'upstream_unreachable', attempts: 1 })
})

t.test('a client cut during the backoff for sending too much before its 101: logged earlyBytesOverLimit', async (t) => {
  const s = await setup(t)
  const client = rawConnection(t, portOf(s.gw.url))
  await client.connected
  client.socket.write(HANDSHAKE)
  await waitFor(() => s.deadFailures() === 1)
  t.ok(s.clock.dueIn().includes(BACKOFF_MS), 'the retry waits out its backoff')
  client.socket.write(Buffer.alloc(70 * 1024, 1)) // over MAX_EARLY_BYTES
  await waitFor(() => upgradeLine(s.gw) !== undefined)
  t.match(upgradeLine(s.gw), { status: 499, aborted: true, earlyBytesOverLimit: true, attempts: 1 })
  s.clock.advance(BACKOFF_MS)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(s.live.requests.length, 0, 'the retry was never sent')
})
