// A client that stops reading just as the upstream finishes: the end of the answer waits in the gateway's socket
// queue (the kernel's buffers are full), below the threshold at which the upstream would have been paused, so the
// attempt's stall timer ends with the attempt. The tail gets its own watch: a client that takes none of it for
// clientIdleMs is cut (client_stalled), never left holding its connection and an active request for good. The
// gateway runs on a manual clock; the upstream ends its answer at the moment the gateway starts to queue.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from './setup.ts'

const PIECE = Buffer.alloc(16 * 1024, 'a')
const IDLE_MS = 1000

async function setup (t: Tap) {
  let toClient: ServerResponse | undefined
  let ended = false
  const origin = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    // one piece at a time until the gateway has to queue for its client, then one more and the end
    const next = (): void => {
      if (toClient !== undefined && toClient.writableLength > 0) {
        res.end(PIECE)
        ended = true
        return
      }
      res.write(PIECE)
      setTimeout(next, 1)
    }
    next()
  })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { origin.closeAllConnections(); origin.close() })
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: { p: { targets: [`http://127.0.0.1:${(origin.address() as AddressInfo).port}`], timeouts: { clientIdleMs: IDLE_MS } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock, defaultMetrics: false })
  gw.gateway.app.server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => { toClient = res })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  client.socket.pause()
  client.socket.write('GET /tail HTTP/1.1\r\nHost: a.example\r\n\r\n')
  await waitFor(() => ended && target.inFlight === 0, 20_000)
  return { gw, clock, client, tail: () => toClient!.writableLength }
}

t.test('a client that takes none of the tail is cut after clientIdleMs', async (t) => {
  const { gw, clock, client, tail } = await setup(t)
  t.ok(tail() > 0 && tail() <= 256 * 1024, `the end of the answer waits for the client (${tail()} bytes)`)
  t.equal(gw.gateway.proxy.active, 1)
  clock.advance(IDLE_MS - 1)
  t.equal(client.socket.destroyed, false, 'not before clientIdleMs')
  clock.advance(1)
  await waitFor(() => gw.gateway.proxy.active === 0)
  // a paused socket learns of its peer's close only by reading what came before it
  client.socket.resume()
  await client.closed
  t.notMatch(client.received(), /\r\n0\r\n\r\n$/, 'the chunked answer has no clean end')
  const line = gw.accessLogs().at(-1)!
  t.equal(line.error, 'client_stalled')
  t.equal(line.status, 200, 'with the status already sent')
})

t.test('a client that reads the tail gets all of it, and the watch ends', async (t) => {
  const { gw, clock, client } = await setup(t)
  client.socket.resume()
  await waitFor(() => gw.gateway.proxy.active === 0 && client.received().endsWith('\r\n0\r\n\r\n'))
  t.equal(gw.accessLogs().at(-1)!.error, undefined, 'a complete answer, its chunked body cleanly ended')
  t.equal(clock.pendingTimers, 0, 'no timer left behind')
})
