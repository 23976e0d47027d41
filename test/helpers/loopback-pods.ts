// A DNS name's pods on one host: one HTTP server per loopback address (127.0.0.2, 127.0.0.3…), all on the same port,
// as the addresses of one name share its port. Closed in the test's teardown.
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Starts a server per address, each answering with `handlerFor(address)`; resolves with their one port. */
export async function podsOnOnePort (t: { teardown (fn: () => unknown): void }, addresses: readonly string[], handlerFor: (address: string) => RequestListener): Promise<number> {
  const servers: Server[] = []
  let port = 0
  t.teardown(() => Promise.all(servers.map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve) }))))
  for (const address of addresses) {
    const server = createServer(handlerFor(address))
    await new Promise<void>((resolve) => server.listen(port, address, resolve))
    port = (server.address() as AddressInfo).port
    servers.push(server)
  }
  return port
}
