// A client that goes away takes its upstream request with it: the upstream sees its request end,
// the target's in-flight count returns to 0 and the access log says the request was aborted.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { request } from 'node:http'
import t from 'tap'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

const MiB = 1024 * 1024

interface Seen { req: IncomingMessage; res: ServerResponse; closed: Promise<void> }

/** Resolves with the next request the upstream receives, and when its response closes. */
function nextUpstreamRequest (u: TestUpstream): Promise<Seen> {
  return new Promise((resolve) => {
    u.server.once('request', (req: IncomingMessage, res: ServerResponse) => {
      resolve({ req, res, closed: new Promise((closed) => res.once('close', () => closed())) })
    })
  })
}

function inFlight (gw: TestGateway, pool: string): number {
  return gw.gateway.pools().get(pool)!.pool.targets.reduce((n, target) => n + target.inFlight, 0)
}

async function accessLog (gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  const lines = gw.accessLogs().filter((l) => l.requestId === requestId)
  if (lines.length !== 1) throw new Error(`expected one access-log line for ${requestId}, got ${lines.length}`)
  return lines[0]!
}

t.test('a client aborting mid-download aborts the upstream response', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const seen = nextUpstreamRequest(u)

  const received = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/big?bytes=${1024 * MiB}`, { agent: false, headers: { 'x-request-id': 'abort-download' } }, (res) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes >= MiB) {
          req.destroy()
          resolve(bytes)
        }
      })
    })
    req.once('error', (err) => { if (!req.destroyed) reject(err) })
    req.end()
  })
  t.ok(received >= MiB, 'some of the body arrived before the abort')

  const upstreamSide = await seen
  await upstreamSide.closed
  t.notOk(upstreamSide.res.writableFinished, 'the upstream response was cut short, not sent to the end')
  await waitFor(() => inFlight(gw, 'p') === 0)
  t.equal(inFlight(gw, 'p'), 0, "the target's inFlight is back to 0")

  const line = await accessLog(gw, 'abort-download')
  t.equal(line.aborted, true, 'the access log marks the request aborted')
  t.equal(line.status, 200, 'with the status that was already sent')

  const after = await httpRequest(gw.url + '/after')
  t.equal(after.status, 200, 'the pool still serves')
})

t.test('a client aborting while the upstream hangs aborts the upstream request', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] })
  const seen = nextUpstreamRequest(u)

  const req = request(`${gw.url}/slow`, { agent: false, headers: { 'x-request-id': 'abort-hang' } })
  req.once('error', () => { /* we abort it */ })
  req.end()
  const upstreamSide = await seen
  await waitFor(() => u.hits === 1) // the upstream has the whole request and is hanging
  t.equal(inFlight(gw, 'p'), 1, 'one request is in flight')
  req.destroy()

  await upstreamSide.closed
  t.ok(upstreamSide.req.socket.destroyed, "the upstream's connection was closed")
  await waitFor(() => inFlight(gw, 'p') === 0)
  t.equal(inFlight(gw, 'p'), 0, "the target's inFlight is back to 0")

  const line = await accessLog(gw, 'abort-hang')
  t.equal(line.aborted, true)
  t.equal(line.status, 499, '499 when no response headers were sent')
  t.equal(line.error, undefined, 'a client abort is not an upstream error')

  u.mode = 'answer'
  const after = await httpRequest(gw.url + '/after')
  t.equal(after.status, 200, 'the pool still serves')
  const { breaker } = gw.gateway.pools().get('p')!
  t.equal(breaker.state, 'closed')
})

t.test('a client aborting a streamed upload aborts the upstream request', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const seen = nextUpstreamRequest(u)

  const req = request(`${gw.url}/upload`, {
    method: 'POST',
    agent: false,
    headers: { 'content-length': String(100 * MiB), 'x-request-id': 'abort-upload' },
  })
  req.once('error', () => { /* we abort it */ })
  req.write(Buffer.alloc(MiB, 'u'))
  const upstreamSide = await seen
  let upstreamBytes = 0
  upstreamSide.req.on('data', (chunk: Buffer) => { upstreamBytes += chunk.length })
  await waitFor(() => upstreamBytes > 0)
  req.destroy()

  await upstreamSide.closed
  t.notOk(upstreamSide.req.complete, 'the upstream never got a complete request')
  await waitFor(() => inFlight(gw, 'p') === 0)
  t.equal(inFlight(gw, 'p'), 0, "the target's inFlight is back to 0")
  t.equal(u.hits, 0, 'the upstream never answered a complete request')

  const line = await accessLog(gw, 'abort-upload')
  t.equal(line.aborted, true)
  t.equal(line.status, 499)
})
