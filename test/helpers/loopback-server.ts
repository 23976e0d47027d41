// A plain node:http server on 127.0.0.1, port 0, for a test whose upstream needs a handler of its own (TestUpstream
// covers the usual behaviours): closed in teardown, its open connections cut.
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export async function serveOnLoopback (t: { teardown (fn: () => unknown): void }, handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    return closed
  })
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}
