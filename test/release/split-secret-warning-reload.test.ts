// The "no secret set" warning is said when the first read/write split route runs on the process's generated key:
// at start, or on the reload that adds it (once). Before, a gateway started without split routes generated its key
// silently, and a reload adding one said nothing, though stickiness then broke across replicas and restarts.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a reload adding the first split route without a secret warns, once', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const config = (reads: Record<string, unknown> | undefined): GatewayConfig => ({
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', ...(reads !== undefined ? { reads: { pool: 'replicas', ...reads } } : {}) }],
  } as GatewayConfig)
  let next = config(undefined)
  // no SWITCHYARD_SECRET from the machine running the test
  const gw = await startGateway(next, { defaultMetrics: false, env: {}, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const warnings = (): number => gw.logs.filter((l) => l.level === 40 && String(l.msg).startsWith('no secret set')).length
  t.equal(warnings(), 0, 'no split route: nothing to say')
  next = config({})
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(warnings(), 1, 'the reload that adds one says it')
  next = config({ stickyAfterWriteMs: 5000 })
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(warnings(), 1, 'once')
})
