// A half-open breaker lets one probe through and refuses the rest until it is judged. A probe whose answer streams
// (SSE, a long download) is judged when its answer's head arrives: the pool serves again then, not when the stream
// ends, nor when its first body byte comes (an SSE or long-poll answer sends its head and waits; the pool refused
// everyone else until the first event, once the gateway held heads back for their first body bytes: review r42f).
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'

/** An upstream whose /fail answers 503 and whose /stream answers as `stream` does; a gateway whose breaker is half-open. */
async function halfOpen (t: Test, stream: (res: ServerResponse) => void): Promise<{ gw: TestGateway; open: Set<ServerResponse> }> {
  const open = new Set<ServerResponse>()
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/fail') return void res.writeHead(503).end()
    if (req.url === '/stream') {
      open.add(res)
      return stream(res)
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
  return { gw, open }
}

t.test("a probe's streaming answer closes the breaker when it begins", async (t) => {
  const { gw, open } = await halfOpen(t, (res) => { res.writeHead(200, { 'content-type': 'text/event-stream' }).write('data: 1\n\n') })
  const breaker = gw.gateway.pools().get('p')!.breaker
  const probe = await new Promise<IncomingMessage>((resolve, reject) => get(`${gw.url}/stream`, resolve).on('error', reject))
  t.teardown(() => { probe.destroy() })
  t.equal(probe.statusCode, 200, 'the probe is answered, and keeps streaming')
  await waitFor(() => breaker.state === 'closed')
  t.equal((await fetch(`${gw.url}/other`)).status, 200, 'the pool serves while the probe still streams')
  t.equal(open.size, 1)
})

t.test('a probe whose first body byte comes late closes the breaker at its head', async (t) => {
  const { gw, open } = await halfOpen(t, (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.flushHeaders() // the head on the wire at once; the first event much later
    const first = setTimeout(() => res.write('data: 1\n\n'), 10_000)
    res.on('close', () => clearTimeout(first))
  })
  const breaker = gw.gateway.pools().get('p')!.breaker
  const probe = get(`${gw.url}/stream`, (res: IncomingMessage) => res.resume())
  probe.on('error', () => {})
  t.teardown(() => { probe.destroy() })
  await waitFor(() => open.size === 1) // the upstream has sent the probe's head
  await waitFor(() => breaker.state === 'closed')
  t.equal((await fetch(`${gw.url}/other`)).status, 200, 'the pool serves while the probe waits for its first event')
})
