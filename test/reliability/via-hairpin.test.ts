// A hairpin is no loop: the gateway → an auth or sidecar proxy that passes Via on (as nginx and Envoy do) → the same
// gateway on another route → the service. The request's second pass carries the gateway's own Via entry once, and is
// served; only a third pass is refused 508 loop_detected (test/reliability/via.test.ts). It was refused at its second
// pass when the gateway first added Via (review r42f).
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("the gateway → a proxy → the gateway again on another route: served, the service sees both of its entries", async (t) => {
  const service = await TestUpstream.start({ name: 'service' })
  t.teardown(() => service.close())
  let gatewayPort = 0
  // the sidecar: forwards every request, its headers as they came, to the gateway's /inner route
  const sidecar = createServer((req: IncomingMessage, res: ServerResponse) => {
    const out = request({ host: '127.0.0.1', port: gatewayPort, method: req.method, path: `/inner${req.url}`, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  await new Promise<void>((resolve) => sidecar.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { sidecar.closeAllConnections(); sidecar.close() })
  const gw = await startGateway({
    pools: { sidecar: { targets: [`http://127.0.0.1:${(sidecar.address() as AddressInfo).port}`] }, service: { targets: [service.url] } },
    routes: [{ path: '/outer', pool: 'sidecar', stripPrefix: true }, { path: '/inner', pool: 'service', stripPrefix: true }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  gatewayPort = Number(new URL(gw.url).port)

  const res = await fetch(`${gw.url}/outer/orders`)
  await res.arrayBuffer()
  t.equal(res.status, 200, 'served, not 508')
  t.equal(service.requests.length, 1)
  const via = String(service.requests[0]!.headers.via)
  const entries = via.split(',').map((e) => e.trim())
  t.equal(entries.length, 2, 'two entries: both passes')
  t.equal(entries[0], entries[1], 'both the same instance')
})
