// An upstream answer whose body fails before its first byte reached the client (a first chunk llhttp refuses, such
// as `5 ;a=b` with whitespace before its extension, RFC 9112 §7.1.1; a reset after the head): nothing of it went out
// (Node sends a head with the first body bytes), so the client gets the usual 502 and its connection is kept, as for
// a bad head. It was an empty reply, a closed connection, and a line that said 200 (review r42b). Every line logs and
// counts the status the client got: once the head is out the cut stays, logged with the head's status and why it was
// cut, as every answer cut short is; a client that leaves before any of it went out is a 499.
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { ScriptedUpstream } from '../reliability/scripted-upstream.ts'
import { converse } from '../reliability/wire.ts'
import { logAndCounters } from '../unit/metrics-exposition.ts'

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'

async function setup (t: Test, first: (socket: Socket) => void, pool: Record<string, unknown> = {}): Promise<{ gw: TestGateway; port: number; u: ScriptedUpstream }> {
  const u = await ScriptedUpstream.start((socket, n) => { if (n === 0) first(socket); else socket.write(OK) })
  const gw = await startGateway({ pools: { p: { targets: [u.url], retry: { attempts: 1 }, ...pool } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

t.test('a first chunk llhttp refuses: 502 upstream_bad_response, logged and counted as 502, the connection kept', async (t) => {
  const { gw, port } = await setup(t, (s) => { s.write(`${CHUNKED_HEAD}5 ;a=b\r\nhello\r\n0\r\n\r\n`) })
  const c = await converse(port, 'GET /first HTTP/1.1\r\nHost: a.example\r\n\r\nGET /second HTTP/1.1\r\nHost: a.example\r\n\r\n', { responses: 2 })
  t.equal(c.responses[0]?.status, 502, 'the client is told')
  t.equal(JSON.parse(c.responses[0]?.body.toString() ?? '{}').error, 'upstream_bad_response')
  t.notMatch(c.responses[0]?.headers.connection ?? '', /close/i, 'a whole answer: the connection is kept')
  t.equal(c.responses[1]?.status, 200, 'the request behind it is served on the same connection')
  t.equal(c.closed, false)
  await waitFor(() => gw.accessLogs().length === 2)
  const line = gw.accessLogs().find((l) => l.path === '/first')!
  t.equal(line.status, 502, 'logged as what the client got')
  t.equal(line.error, 'upstream_bad_response')
  t.equal(line.upstreamError, 'HTTPParserError')
  t.ok((line.bytesOut as number) > 0, 'its answer was written')
  const { logged, counted } = await logAndCounters(gw)
  t.same(counted, logged, 'counted as logged')
})

t.test('a reset after the head, before any body byte: 502, not an empty reply', async (t) => {
  const { gw, port } = await setup(t, (s) => { s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', () => setTimeout(() => s.resetAndDestroy(), 20)) })
  const c = await converse(port, 'GET /first HTTP/1.1\r\nHost: a.example\r\n\r\n')
  t.equal(c.responses[0]?.status, 502)
  t.equal(JSON.parse(c.responses[0]?.body.toString() ?? '{}').error, 'upstream_unreachable', "a reset's code, as before any head")
  await waitFor(() => gw.accessLogs().length === 1)
  t.equal(gw.accessLogs()[0]!.status, 502)
})

t.test('a body that fails after its first bytes went out is still cut, logged with the status that went out', async (t) => {
  const { gw, port } = await setup(t, (s) => { s.write(`${CHUNKED_HEAD}5\r\nhello\r\n`, () => setTimeout(() => s.write('zz\r\nhello\r\n0\r\n\r\n'), 30)) })
  const c = await converse(port, 'GET /first HTTP/1.1\r\nHost: a.example\r\n\r\n', { waitForClose: true })
  t.match(c.trailing.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\nhello\r\n$/, 'the head and the first chunk, and no last chunk')
  t.ok(c.closed, 'the connection was cut: the answer is visibly incomplete')
  await waitFor(() => gw.accessLogs().length === 1)
  const line = gw.accessLogs()[0]!
  t.equal(line.status, 200, 'the status that went out')
  t.equal(line.error, 'upstream_bad_response', 'and why it was cut')
})

t.test('a client that leaves while the head waits for its first body byte: 499, not the 200 it never got', async (t) => {
  let upstreamSocket: Socket | undefined
  const { gw, port } = await setup(t, (s) => { upstreamSocket = s; s.write(CHUNKED_HEAD) })
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /first HTTP/1.1\r\nHost: a.example\r\n\r\n')
  await waitFor(() => upstreamSocket !== undefined)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(c.received(), '', 'nothing of the answer went out')
  c.socket.destroy()
  await waitFor(() => gw.accessLogs().length === 1)
  const line = gw.accessLogs()[0]!
  t.equal(line.status, 499)
  t.equal(line.aborted, true)
  const { logged, counted } = await logAndCounters(gw)
  t.same(counted, logged)
})

// The probe is judged by its head (test/resilience/breaker-probe-stream.test.ts says why): a body that then
// fails on its first read still gives its client the 502, and counts for outlier detection, not for the breaker.
t.test("a half-open breaker's probe whose body fails on its first read: its client gets the 502", async (t) => {
  const u = await ScriptedUpstream.start((socket, n) => {
    if (n === 0) socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')
    else if (n === 1) socket.write(`${CHUNKED_HEAD}5 ;a=b\r\nhello\r\n0\r\n\r\n`)
    else socket.write(OK)
  })
  const gw = await startGateway({
    pools: { p: { targets: [u.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { volumeThreshold: 1, resetTimeoutMs: 200 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const port = Number(new URL(gw.url).port)
  const breaker = gw.gateway.pools().get('p')!.breaker
  t.equal((await converse(port, 'GET /fail HTTP/1.1\r\nHost: a.example\r\n\r\n')).responses[0]?.status, 503)
  await waitFor(() => breaker.state === 'half-open')
  t.equal((await converse(port, 'GET /probe HTTP/1.1\r\nHost: a.example\r\n\r\n')).responses[0]?.status, 502)
  t.equal(breaker.state, 'closed', 'judged by its head')
})
