// A request refused 503 pool_busy (connections.maxRequests) has its connection closed after the answer: a client told
// to come back in a second (Retry-After: 1) holds no listener slot meanwhile. Kept alive (AY14 pinned that, r43h),
// each client of a pool of stuck targets held one for the whole keep-alive time, and a few thousand took every slot
// server.maxConnections allows, refusing the other pools' clients (review r43j). The refusal takes no place in the
// pool's count, and the client's next request, on a new connection, is served.
import { Agent, request } from 'node:http'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from './setup.ts'

interface Answer { status: number; error: string | undefined; connection: string | undefined; reused: boolean }

function get (url: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString()
        const error = res.statusCode === 503 ? (JSON.parse(text) as { error?: string }).error : undefined
        resolve({ status: res.statusCode ?? 0, error, connection: res.headers.connection, reused: req.reusedSocket })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

t.test('a request refused pool_busy has its connection closed after the answer', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  a.mode = 'hang'
  const config: GatewayConfig = {
    pools: {
      a: { targets: [a.url], connections: { maxRequests: 1 }, timeouts: { requestMs: 5000 }, retry: { attempts: 1 } },
      b: { targets: [b.url] },
    },
    routes: [{ path: '/a', pool: 'a' }, { path: '/b', pool: 'b' }],
  }
  const gw = await gateway(t, config, { defaultMetrics: false })
  const parked = request(`${gw.url}/a/parked`, { agent: false })
  parked.on('error', () => { /* destroyed at the end */ })
  t.teardown(() => { parked.destroy() })
  parked.end()
  const active = () => gw.gateway.pools().get('a')!.budget.active
  await waitFor(() => active() === 1 && a.hits === 1)

  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const refused = await get(`${gw.url}/a/more`, agent)
  t.equal(refused.status, 503)
  t.equal(refused.error, 'pool_busy')
  t.equal(refused.connection, 'close', 'the refusal closes the connection')
  const next = await get(`${gw.url}/b/next`, agent)
  t.equal(next.status, 200)
  t.equal(next.reused, false, 'the next request went on a new connection')
  t.equal(active(), 1, 'the refusal took no place')
})
