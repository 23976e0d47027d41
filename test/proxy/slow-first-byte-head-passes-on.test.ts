// An answer whose first body byte is slow to come (SSE, long-poll) has its head passed on at once, as nginx and
// HAProxy pass a head on: the gateway holds a head back only briefly for its first body bytes (so that a body failing
// on its first read is answered 502, src/proxy/held-heads.ts). Node sends a stored head with the first body bytes,
// and an EventSource's open, or a long-poll client's response, waited for the first event.
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'

t.test('an SSE head reaches the client long before its first event', async (t) => {
  const open = new Set<ServerResponse>()
  const up = createServer((_req: IncomingMessage, res: ServerResponse) => {
    open.add(res)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.flushHeaders()
    const first = setTimeout(() => res.write('data: 1\n\n'), 10_000)
    res.on('close', () => clearTimeout(first))
  })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { up.closeAllConnections(); up.close() })
  const gw = await startGateway({ pools: { p: { targets: [`http://127.0.0.1:${(up.address() as AddressInfo).port}`] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())

  const startedAt = performance.now()
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = get(`${gw.url}/events`, resolve)
    req.on('error', reject)
    t.teardown(() => { req.destroy() })
  })
  const waited = performance.now() - startedAt
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/event-stream')
  t.ok(waited < 5_000, `the head arrived after ${Math.round(waited)} ms, not with the first event at 10 s`)
  res.destroy()
})
