// A request whose client has already gone when the proxy gets to it (a gateway running behind: its socket was
// destroyed while the request waited in the event loop) is never sent upstream, is logged as aborted, and
// leaves no request counted in flight. Real sockets: a plain server hands its requests to the gateway's proxy
// only once their client has left.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { gateway, upstream, type HasTeardown } from './setup.ts'

/** A front server that passes each request to `onRequest` once its client has left. */
async function lateFront (t: HasTeardown, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(onRequest)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return (server.address() as AddressInfo).port
}

/** Sends a request and destroys it once the server has it (the gateway's handler is called after that). */
function sendAndLeave (port: number, requestId: string, body?: string): void {
  const req = request({ host: '127.0.0.1', port, path: '/api/x', method: body === undefined ? 'GET' : 'POST', agent: false, headers: { 'x-request-id': requestId } })
  req.on('error', () => { /* destroyed by the server side or by us */ })
  req.end(body)
}

async function accessLine (gw: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  return gw.accessLogs().find((l) => l.requestId === requestId)! as Record<string, unknown>
}

for (const when of ['its close already heard', 'its socket destroyed, close not yet heard'] as const) {
  for (const body of [undefined, 'a small body']) {
    t.test(`a request whose client has gone (${when}, ${body === undefined ? 'no body' : 'with a body'}) is not sent upstream`, async (t) => {
      const u = await upstream(t, 'u')
      const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
      const proxy = gw.gateway.proxy
      const id = `gone-${when.length}-${body === undefined ? 0 : 1}`
      const port = await lateFront(t, (req, res) => {
        if (when === 'its close already heard') {
          req.socket.once('close', () => setImmediate(() => proxy.handle(req, res)))
          req.socket.destroy()
        } else {
          req.socket.destroy()
          proxy.handle(req, res)
        }
      })
      sendAndLeave(port, id, body)
      const line = await accessLine(gw, id)
      t.equal(line.status, 499)
      t.equal(line.aborted, true)
      await waitFor(() => proxy.active === 0)
      t.equal(proxy.active, 0, 'the exchange was finished: nothing left in flight')
      t.equal(u.requests.length, 0, 'the upstream never saw it')
      const runtime = gw.gateway.pools().get('p')!
      t.equal(runtime.pool.targets[0]!.inFlight, 0)
      t.equal(runtime.pool.targets[0]!.requests, 0, 'no attempt was made')
    })
  }
}
