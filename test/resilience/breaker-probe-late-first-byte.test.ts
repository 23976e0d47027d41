// A half-open breaker's probe is judged by its answer's head, not by its first body byte: an SSE or long-poll answer
// sends its head and then waits, and the pool refused everyone else until the first event came (or the probe's lease
// ran out), once the gateway held heads back for their first body bytes (review r42f).
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'

t.test("a probe whose first body byte comes late closes the breaker at its head", async (t) => {
  const open = new Set<ServerResponse>()
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/fail') return void res.writeHead(503).end()
    if (req.url === '/stream') {
      open.add(res)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.flushHeaders() // the head on the wire at once; the first event much later
      const first = setTimeout(() => res.write('data: 1\n\n'), 10_000)
      res.on('close', () => clearTimeout(first))
      return
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
  await waitFor(() => breaker.state !== 'closed')
  await waitFor(() => breaker.state === 'half-open')

  const probe = get(`${gw.url}/stream`, (res: IncomingMessage) => res.resume())
  probe.on('error', () => {})
  t.teardown(() => { probe.destroy() })
  await waitFor(() => open.size === 1) // the upstream has sent the probe's head
  await waitFor(() => breaker.state === 'closed')
  t.equal((await fetch(`${gw.url}/other`)).status, 200, 'the pool serves while the probe waits for its first event')
})
