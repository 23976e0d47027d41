// A half-open breaker lets one probe through and refuses the rest until it is judged. A probe whose answer streams
// (SSE, a long download) is judged when its answer begins: the pool serves again then, not when the stream ends.
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'

t.test("a probe's streaming answer closes the breaker when it begins", async (t) => {
  const open = new Set<ServerResponse>()
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/fail') return void res.writeHead(503).end()
    if (req.url === '/stream') {
      open.add(res)
      return void res.writeHead(200, { 'content-type': 'text/event-stream' }).write('data: 1\n\n')
    }
    res.end('ok')
  })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { up.closeAllConnections(); up.close() })
  const gw = await startGateway({
    pools: { p: { targets: [`http://127.0.0.1:${(up.address() as AddressInfo).port}`], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 1, resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const breaker = gw.gateway.pools().get('p')!.breaker
  t.equal((await fetch(`${gw.url}/fail`)).status, 503)
  await waitFor(() => breaker.state !== 'closed') // open, or half-open already on a slow host (resetTimeoutMs 200)
  await waitFor(() => breaker.state === 'half-open')

  const probe = await new Promise<IncomingMessage>((resolve, reject) => get(`${gw.url}/stream`, resolve).on('error', reject))
  t.teardown(() => { probe.destroy() })
  t.equal(probe.statusCode, 200, 'the probe is answered, and keeps streaming')
  await waitFor(() => breaker.state === 'closed')
  t.equal((await fetch(`${gw.url}/other`)).status, 200, 'the pool serves while the probe still streams')
  t.equal(open.size, 1)
})
