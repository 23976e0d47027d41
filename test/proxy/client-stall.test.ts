// A client that stops reading a response must not hold the upstream connection forever: once the gateway
// has been unable to write to it for clientIdleMs, it closes both sides and logs client_stalled. The gateway runs
// on a manual clock: the test waits for real socket state (the writes stop draining), never for the timeout.
import { request, type IncomingMessage, type ServerResponse } from 'node:http'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

const MiB = 1024 * 1024

interface Seen { req: IncomingMessage; res: ServerResponse; closed: boolean }

/** The next request the upstream receives, and whether its response has closed. */
function nextUpstreamRequest (u: TestUpstream): { current: Seen | undefined } {
  const holder: { current: Seen | undefined } = { current: undefined }
  u.server.once('request', (req: IncomingMessage, res: ServerResponse) => {
    const seen: Seen = { req, res, closed: false }
    res.once('close', () => { seen.closed = true })
    holder.current = seen
  })
  return holder
}

function inFlight (gw: TestGateway): number {
  return gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight
}

async function accessLog (gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  const lines = gw.accessLogs().filter((l) => l.requestId === requestId)
  if (lines.length !== 1) throw new Error(`expected one access-log line for ${requestId}, got ${lines.length}`)
  return lines[0]!
}

t.test('a client that never reads is cut off after clientIdleMs and the upstream connection is closed', async (t) => {
  const u = await upstream(t, 'u')
  const clock = new ManualClock()
  const gw = await gateway(t, { pools: { p: { targets: [u.url], timeouts: { clientIdleMs: 300 } } }, routes: [{ path: '/', pool: 'p' }] }, { clock })
  const seen = nextUpstreamRequest(u)

  const req = request(`${gw.url}/big?bytes=${100 * MiB}`, { agent: false, headers: { 'x-request-id': 'stalled' } })
  req.on('error', () => { /* the gateway cuts the response short */ })
  t.teardown(() => { req.destroy() })
  const res = await new Promise<IncomingMessage>((resolve) => {
    req.once('response', resolve)
    req.end()
  })
  res.pause() // and never read: socket buffers fill up, the gateway's writes stop draining
  t.equal(res.statusCode, 200, 'the response had started')

  // the response deadline's timer ended with the headers; the one left is the stall timer, armed once writes stop draining
  await waitFor(() => clock.pendingTimers === 1, 8000)
  clock.advance(299)
  t.equal(seen.current?.closed, false, 'not before clientIdleMs')
  clock.advance(1)
  await waitFor(() => seen.current?.closed === true)
  const upstreamSide = seen.current!
  t.notOk(upstreamSide.res.writableFinished, 'the upstream response was cut short, not sent to the end')
  t.ok(upstreamSide.req.socket.destroyed, "the upstream's connection was closed")
  await waitFor(() => inFlight(gw) === 0)
  t.equal(inFlight(gw), 0, "the target's inFlight is back to 0")

  const line = await accessLog(gw, 'stalled')
  t.equal(line.error, 'client_stalled', 'the access log says the client stalled')
  t.equal(line.status, 200, 'with the status that was already sent')
  t.ok((line.bytesOut as number) < 100 * MiB, 'far from the whole body was written')
  req.destroy()

  const pool = gw.gateway.pools().get('p')!
  t.equal(pool.breaker.state, 'closed', 'a stalled client is not the upstream failing')
  t.equal(pool.pool.status(pool.pool.targets[0]!).ejectedUntil, 0, 'nor is the target ejected')
  const after = await httpRequest(gw.url + '/after')
  t.equal(after.status, 200, 'the pool still serves')
})
