// A canary answer the upstream cut short after its status went out (reset mid-body, or stalled past idleMs) is a
// canary failure like a 5xx: a canary whose every answer is cut is rolled back. A client that leaves mid-body says
// nothing of the version and is not counted.
import { createServer, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream, type Tap } from '../proxy/setup.ts'

/** An upstream that sends 200 headers and part of the body, then never more. */
async function stallingUpstream (t: Tap): Promise<{ url: string; held: ServerResponse[] }> {
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-length': '100000' }).write('partial body')
    held.push(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held }
}

const config = (v1: string, v2: string, minRequests: number): GatewayConfig => ({
  log: { level: 'silent' },
  pools: { v1: { targets: [v1] }, v2: { targets: [v2], retry: { attempts: 1 }, timeouts: { idleMs: 200 } } },
  routes: [{ name: 'pay', path: '/', pool: 'v1', canary: { pool: 'v2', weight: 100, rollback: { maxErrorRatePercent: 50, minRequests, windowMs: 60_000 } } }],
})

/** A request whose answer may be cut: resolves either way. */
const cutRequest = (url: string): Promise<void> => httpRequest(url).then(() => {}, () => {})

t.test('answers reset mid-body count as canary errors: the canary is rolled back', async (t) => {
  const v1 = await upstream(t, 'v1')
  const v2 = await upstream(t, 'v2')
  v2.mode = 'reset-mid-body'
  const gw = await gateway(t, config(v1.url, v2.url, 5), { defaultMetrics: false })
  for (let i = 0; i < 5; i++) await cutRequest(`${gw.url}/x`)
  await waitFor(() => gw.gateway.proxy.active === 0) // the client may see the cut before the gateway ends the request
  const c = gw.gateway.status().routes[0]!.canary!
  t.strictSame(c.window.canary, { requests: 5, errors: 5 }, 'every cut answer is an error')
  t.equal(c.weight, 0)
  t.equal(c.weightSource, 'rollback')
})

t.test('answers that stall mid-body past idleMs count as canary errors', async (t) => {
  const v1 = await upstream(t, 'v1')
  const v2 = await stallingUpstream(t)
  const gw = await gateway(t, config(v1.url, v2.url, 3), { defaultMetrics: false })
  for (let i = 0; i < 3; i++) await cutRequest(`${gw.url}/x`)
  await waitFor(() => gw.gateway.proxy.active === 0)
  const c = gw.gateway.status().routes[0]!.canary!
  t.strictSame(c.window.canary, { requests: 3, errors: 3 })
  t.equal(c.weightSource, 'rollback')
})

t.test('a client that leaves mid-body is not counted', async (t) => {
  const v1 = await upstream(t, 'v1')
  const v2 = await stallingUpstream(t)
  const gw = await gateway(t, config(v1.url, v2.url, 1), { defaultMetrics: false })
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const req = request(`${gw.url}/x`, { agent: false }, (res) => {
        res.once('data', () => { req.destroy(); resolve() })
      })
      req.on('error', () => {})
      req.end()
    })
  }
  await waitFor(() => gw.gateway.proxy.active === 0)
  const c = gw.gateway.status().routes[0]!.canary!
  t.strictSame(c.window.canary, { requests: 0, errors: 0 }, 'nothing recorded for the version')
  t.equal(c.weightSource, 'file')
  t.equal(v2.held.length, 3)
})
