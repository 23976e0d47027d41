// A split read is at its replica when a reload removes the route's primary pool; the replica then fails. There is
// no primary to fall back to: the read gets the replica's failure as an upstream error (502 upstream_error), not a
// 500 internal_error from the gateway tripping over the missing pool. Pins src/proxy/forward.ts #fallBack:
// `if (primary === undefined) return false`.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from '../proxy/http.ts'

t.test('the replica fails a read after a reload removed the primary pool: 502 upstream_error', async (t) => {
  const primary = await TestUpstream.start({ name: 'primary' })
  t.teardown(() => primary.close())
  // a replica that answers only when told
  const held: ServerResponse[] = []
  const replica = createServer((req, res) => { req.resume(); req.once('end', () => held.push(res)) })
  await new Promise<void>((resolve) => replica.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { replica.closeAllConnections(); replica.close(() => resolve()) }))
  const replicaUrl = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`

  const before: GatewayConfig = {
    pools: { p: { targets: [primary.url] }, r: { targets: [replicaUrl], retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p', reads: { pool: 'r' } }],
  }
  const after: GatewayConfig = { pools: { r: { targets: [replicaUrl], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'r' }] }
  let next: unknown = before
  const gw = await startGateway(before, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())

  const pending = httpRequest(`${gw.url}/x`)
  await waitFor(() => held.length === 1)
  next = after
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  held[0]!.writeHead(503, { 'content-length': '4' }).end('down')
  const answer = await pending
  t.equal(answer.status, 502)
  t.equal(answer.json<ErrorBody>().error, 'upstream_error')
  t.equal(primary.hits, 0)
})
