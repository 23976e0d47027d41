// A request queued inside undici for a connection (the target's only connection is busy) is bound by its
// own deadline, not by the request ahead of it: it gets 503 upstream_busy on time (never written to the
// upstream, so not the upstream's failure: no breaker, no outlier count), and a client that leaves while
// queued is logged as aborted. Either way the target's in-flight count returns to 0.
import { request, type ClientRequest, type IncomingMessage } from 'node:http'
import t from 'tap'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import type { ErrorBody } from './http.ts'
import { gateway, upstream, type HasTeardown } from './setup.ts'

const routes = [{ path: '/', pool: 'p' }]

function inFlight (gw: TestGateway): number {
  return gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight
}

async function accessLog (gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  const lines = gw.accessLogs().filter((l) => l.requestId === requestId)
  if (lines.length !== 1) throw new Error(`expected one access-log line for ${requestId}, got ${lines.length}`)
  return lines[0]!
}

/** Counts every request the upstream starts to receive (complete or not). */
function countRequests (u: TestUpstream): { count: number } {
  const seen = { count: 0 }
  u.server.on('request', () => { seen.count++ })
  return seen
}

/** Bodies over this many bytes stream once their first bytes are in (request buffering). */
const MAX_BUFFER = 16

/**
 * Request A: a streamed upload that never ends (more than MAX_BUFFER bytes sent, so it goes upstream). It occupies the target's only connection for as long as the
 * client keeps it open (its response deadline only starts once the body has been sent), so nothing that
 * happens to the queued request can be explained by A finishing first.
 */
async function occupyOnlyConnection (t: HasTeardown, gw: TestGateway, seen: { count: number }): Promise<ClientRequest> {
  const req = request(`${gw.url}/hold`, {
    method: 'POST',
    agent: false,
    headers: { 'transfer-encoding': 'chunked', 'x-request-id': 'holder' },
  })
  req.on('error', () => { /* destroyed by the test */ })
  t.teardown(() => { req.destroy() })
  req.write('part of a body that never ends')
  await waitFor(() => seen.count === 1 && inFlight(gw) === 1)
  return req
}

/**
 * GET through the gateway; gives up (destroying the request) after `limitMs`, so a request that would wait
 * forever fails the test instead of timing out the whole file.
 */
function getWithin (url: string, requestId: string, limitMs: number): Promise<{ status: number; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { 'x-request-id': requestId } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ErrorBody })
      })
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`no response within ${limitMs} ms`))
    }, limitMs)
    req.once('error', (err) => { clearTimeout(timer); reject(err) })
    req.end()
  })
}

t.test('a request queued behind a busy connection times out on its own deadline', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const seen = countRequests(u)
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], connections: { maxPerTarget: 1 }, retry: { attempts: 1, maxBufferBytes: MAX_BUFFER }, timeouts: { requestMs: 400 } } },
    routes,
  })
  const holder = await occupyOnlyConnection(t, gw, seen)

  const started = Date.now()
  const res = await getWithin(gw.url + '/queued', 'queued', 5000)
  const elapsed = Date.now() - started
  t.equal(res.status, 503)
  t.equal(res.body.error, 'upstream_busy')
  t.ok(elapsed < 1500, `answered around its own deadline (${elapsed} ms), not after the request ahead of it`)
  t.equal(seen.count, 1, 'the queued request never reached the upstream')

  const line = await accessLog(gw, 'queued')
  t.equal(line.status, 503)
  t.equal(line.error, 'upstream_busy')
  const runtime = gw.gateway.pools().get('p')!
  t.equal(runtime.pool.targets[0]!.failures, 0, 'not counted as a failure of the target (outlier detection)')
  t.equal(runtime.breaker.state, 'closed')

  t.equal(inFlight(gw), 1, 'only the request holding the connection is still in flight')
  holder.destroy()
  await waitFor(() => inFlight(gw) === 0)
  t.equal(inFlight(gw), 0, "the target's inFlight is back to 0 once both are done")
  t.equal(seen.count, 1, 'the timed-out request was not sent once the connection was free')
  t.equal((await accessLog(gw, 'holder')).aborted, true)
})

t.test('a client leaving while its request is queued is logged as aborted', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const seen = countRequests(u)
  // a long deadline: only the client leaving can end the queued request
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], connections: { maxPerTarget: 1 }, retry: { attempts: 1, maxBufferBytes: MAX_BUFFER }, timeouts: { requestMs: 10_000 } } },
    routes,
  })
  const holder = await occupyOnlyConnection(t, gw, seen)

  let gotResponse = false
  const queued = request(`${gw.url}/queued`, { agent: false, headers: { 'x-request-id': 'queued-abort' } }, (res: IncomingMessage) => {
    gotResponse = true
    res.resume()
  })
  queued.on('error', () => { /* destroyed by the test */ })
  t.teardown(() => { queued.destroy() })
  queued.end()
  await waitFor(() => inFlight(gw) === 2) // the gateway has dispatched it; undici holds it for the busy connection
  queued.destroy()

  const line = await accessLog(gw, 'queued-abort')
  t.equal(line.aborted, true, 'the access log marks the request aborted')
  t.equal(line.status, 499)
  t.equal(line.error, undefined, 'a client leaving is not an upstream error')
  t.equal(gotResponse, false)
  await waitFor(() => inFlight(gw) === 1)
  t.equal(inFlight(gw), 1, "the queued request's in-flight slot was released while the connection is still busy")

  holder.destroy()
  await waitFor(() => inFlight(gw) === 0)
  t.equal(inFlight(gw), 0)
  t.equal(seen.count, 1, 'the abandoned request never reached the upstream')
  t.equal(gw.gateway.pools().get('p')!.breaker.state, 'closed', 'nothing counted against the upstream')
})
