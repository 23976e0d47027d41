// A discovered name's weight and backup flag are target settings, as a fixed target's are: a reload that changes
// only them keeps the pool's runtime (its open breaker stays open), gives its addresses the new settings, and is
// reported as a target change. A reload that changes what is looked up (name, port, refreshMs) builds the pool anew.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const NAME = 'svc.test'
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
interface Discovered { dns?: string; port?: number; refreshMs?: number; weight?: number; backup?: boolean }

async function setup (t: Tap): Promise<{ gw: TestGateway; dns: TestDnsServer; fixed: TestUpstream; found: TestUpstream; reloadTo: (d: Discovered) => ReturnType<TestGateway['gateway']['reload']> }> {
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  const fixed = await TestUpstream.start({ name: 'fixed' })
  t.teardown(() => fixed.close())
  const found = await TestUpstream.start({ name: 'found' })
  t.teardown(() => found.close())
  // both fail every request: a few requests open the breaker, whose reset is far beyond the test
  fixed.failCount = found.failCount = 1_000
  dns.set(NAME, { a: ['127.0.0.1'] })
  const config = (d: Discovered): GatewayConfig => ({
    log: { level: 'silent' },
    pools: { p: {
      targets: [fixed.url, { dns: NAME, port: found.port, refreshMs: 60_000, ...d }],
      retry: { attempts: 1 }, outlier: { enabled: false },
      circuitBreaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    } },
    routes: [{ path: '/', pool: 'p' }],
  })
  let next = config({})
  const gw = await startGateway(next, { defaultMetrics: false, dnsServers: [dns.address], load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/x`)).arrayBuffer()
  t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'the breaker is open before the reload')
  return { gw, dns, fixed, found, reloadTo: (d) => { next = config(d); return gw.gateway.reload('admin') } }
}

t.test("a reload that changes only a discovered name's weight or backup keeps the pool and takes the new settings", async (t) => {
  const { gw, found, reloadTo } = await setup(t)
  const runtime = gw.gateway.pools().get('p')!
  const discovered = (): { weight: number; backup: boolean } | undefined => gw.gateway.pools().get('p')!.pool.targets.find((x) => x.url === found.url)
  t.match(discovered(), { weight: 1, backup: false })

  const reweighted = await reloadTo({ weight: 3 })
  t.equal(reweighted.result, 'success')
  t.strictSame(reweighted.diff?.pools.changed, [], 'no pool setting changed')
  t.strictSame(reweighted.diff?.targets.changed, [`p/dns:http://${NAME}:${found.port}`], 'the discovered name is a changed target')
  t.equal(gw.gateway.pools().get('p'), runtime, 'the pool keeps its runtime')
  t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'its breaker stays open')
  t.match(discovered(), { weight: 3, backup: false }, 'its address has the new weight')
  const res = await fetch(`${gw.url}/x`)
  await res.arrayBuffer()
  t.equal(res.status, 503, 'the open breaker still refuses')

  const demoted = await reloadTo({ weight: 3, backup: true })
  t.strictSame(demoted.diff?.pools.changed, [])
  t.strictSame(demoted.diff?.targets.changed, [`p/dns:http://${NAME}:${found.port}`])
  t.equal(gw.gateway.pools().get('p'), runtime, 'the pool keeps its runtime')
  t.equal(gw.gateway.status().pools.p!.circuit, 'open', 'its breaker stays open')
  t.match(discovered(), { weight: 3, backup: true }, 'its address is a backup now')
})

t.test('a reload that changes what is looked up builds the pool anew', async (t) => {
  const other = await TestUpstream.start({ name: 'other' })
  t.teardown(() => other.close())
  const changes: [string, (s: { found: TestUpstream; dns: TestDnsServer }) => Discovered][] = [
    ['refreshMs', () => ({ refreshMs: 30_000 })],
    ['port', () => ({ port: other.port })],
    ['name', ({ dns }) => { dns.set('other.test', { a: ['127.0.0.1'] }); return { dns: 'other.test' } }],
  ]
  for (const [label, change] of changes) {
    await t.test(label, async (t) => {
      const { gw, dns, found, reloadTo } = await setup(t)
      const runtime = gw.gateway.pools().get('p')!
      const result = await reloadTo(change({ found, dns }))
      t.equal(result.result, 'success')
      t.strictSame(result.diff?.pools.changed, ['p'])
      t.not(gw.gateway.pools().get('p'), runtime, 'a new runtime')
      t.equal(gw.gateway.status().pools.p!.circuit, 'closed', 'whose breaker starts closed')
    })
  }
})
