// What Node's parser refuses before there is a request (malformed bytes, oversized headers, slowloris) is
// answered with the catalogue's JSON error and the connection closed, on the proxy and the admin listener alike.
import { createServer, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { ERRORS } from '../../src/errors.ts'
import { clientErrorCode } from '../../src/proxy/client-error.ts'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import type { Tap } from '../proxy/setup.ts'
import { converse, type Conversation } from './wire.ts'

const HEADERS_TIMEOUT_MS = 300

async function setup (t: Tap) {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({
    server: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: 600, maxHeaderBytes: 4096 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const adminUrl = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  return { u, ports: { proxy: Number(new URL(gw.url).port), admin: Number(new URL(adminUrl).port) } }
}

function refusedWith (t: Tap, res: Conversation, code: keyof typeof ERRORS): void {
  const answer = res.responses[0]
  t.equal(answer?.status, ERRORS[code].status, 'status')
  t.equal(answer?.headers['content-type'], 'application/json; charset=utf-8')
  t.equal((JSON.parse(answer?.body.toString() ?? '{}') as { error?: string }).error, code, 'the catalogue code')
  t.ok(res.closed, 'the connection is closed')
}

/**
 * A gateway in front of an upstream that holds every response it gets (`start` may begin one first), and a raw
 * client connection to the gateway whose bytes are kept.
 */
async function heldAnswers (t: Tap, start: (res: ServerResponse) => void = () => {}) {
  const held: ServerResponse[] = []
  const upstream = createServer((_req, res) => { start(res); held.push(res) })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const res of held) res.destroy(); upstream.close() })
  const gw = await startGateway({ pools: { p: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const socket = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { held, gw, socket, closed }
}

t.test('Node errors map to catalogue codes', async (t) => {
  const cases: [string | undefined, keyof typeof ERRORS][] = [
    ['ERR_HTTP_REQUEST_TIMEOUT', 'client_timeout'],
    ['HPE_HEADER_OVERFLOW', 'headers_too_large'],
    ['HPE_INVALID_METHOD', 'bad_request'],
    ['HPE_INVALID_HEADER_TOKEN', 'bad_request'],
    [undefined, 'bad_request'],
  ]
  for (const [code, expected] of cases) t.equal(clientErrorCode({ code }), expected, String(code))
})

for (const listener of ['proxy', 'admin'] as const) {
  t.test(`${listener}: malformed request line → 400 bad_request (RFC 9112 §3)`, async (t) => {
    const { u, ports } = await setup(t)
    refusedWith(t, await converse(ports[listener], 'GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n', { waitForClose: true }), 'bad_request')
    t.equal(u.requests.length, 0, 'nothing reached the upstream')
  })

  t.test(`${listener}: headers over the limit → 431 headers_too_large (RFC 6585 §5)`, async (t) => {
    const { u, ports } = await setup(t)
    // the proxy's limit is server.maxHeaderBytes; the admin listener keeps Node's 16 KiB
    const big = 'b'.repeat(listener === 'proxy' ? 5000 : 20_000)
    refusedWith(t, await converse(ports[listener], `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`, { waitForClose: true }), 'headers_too_large')
    t.equal(u.requests.length, 0, 'nothing reached the upstream')
  })
}

// the admin listener keeps Node's own timeouts (a minute): the proxy's are the ones an attacker meets
for (const listener of ['proxy'] as const) {
  t.test(`${listener}: headers not complete within headersTimeoutMs → 408 client_timeout (RFC 9110 §15.5.9)`, async (t) => {
    const { u, ports } = await setup(t)
    // one line, then silence: nothing is being written when the answer comes, so it is never lost to a reset
    refusedWith(t, await converse(ports[listener], 'GET / HTTP/1.1\r\nHost: a\r\n', { waitForClose: true, timeoutMs: 3000 }), 'client_timeout')
    t.equal(u.requests.length, 0, 'nothing reached the upstream')
  })
}

t.test('garbage pipelined behind a response already under way is never answered into that response (RFC 9112 §9.3.2)', async (t) => {
  // an upstream that sends its head and part of a body, then holds the rest
  const { socket, closed } = await heldAnswers(t, (res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('x'.repeat(10))
  })
  let received = ''
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => received.includes('xxxxxxxxxx'))
  // not a request: Node's parser fails on it while the first response is being sent
  socket.write('NOT A REQUEST\r\n\r\n')
  await closed
  t.match(received, /^HTTP\/1\.1 200 /, 'the response under way')
  t.notMatch(received, /HTTP\/1\.1 400/, 'no 400 written into the middle of its body')
  t.ok(received.endsWith('xxxxxxxxxx'), 'the body cut where it was (the connection closed)')
})

t.test('a refusal carries the current Date, not the one of the first refusal of its kind (RFC 9110 §6.6.1)', async (t) => {
  // the refusal is encoded once per second (they come in bursts): the cache must follow the clock. The gateway runs
  // in this process, so the test moves the wall clock it reads (Date.now) 5 s on instead of waiting.
  const { ports } = await setup(t)
  const bad = 'GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n'
  const first = await converse(ports.proxy, bad, { waitForClose: true })
  const realNow = Date.now
  Date.now = () => realNow() + 5000
  t.teardown(() => { Date.now = realNow })
  const later = await converse(ports.proxy, bad, { waitForClose: true })
  Date.now = realNow
  const dateOf = (c: typeof first): number => Date.parse(c.responses[0]?.headers.date ?? '')
  t.equal(later.responses[0]?.status, 400)
  t.ok(dateOf(later) - dateOf(first) >= 4000, `the second refusal's Date is 5 s on (${first.responses[0]?.headers.date} → ${later.responses[0]?.headers.date})`)
})

t.test('garbage behind a request still waiting for its answer: the answer goes out whole, however long the client keeps sending', async (t) => {
  // the answer closes the connection with a lingering close that reads and drops what the client sends on; the
  // garbage read then (the parser fails on it again) must not reset the connection, or the client's kernel drops
  // the part of the answer it has not read yet
  const BODY = 1024 * 1024
  const { held, gw, socket, closed } = await heldAnswers(t)
  let bytes = 0
  let head = ''
  let error: string | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
  socket.on('data', (chunk: Buffer) => { if (head.length < 200) head += chunk.toString('latin1'); bytes += chunk.length })
  socket.pause() // the client reads its answer only later
  socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\nNOT A REQUEST\r\n\r\n')
  await waitFor(() => held.length === 1)
  // the client goes on sending while its answer comes
  const sending = setInterval(() => { if (socket.writable) socket.write('z'.repeat(16 * 1024)) }, 5)
  t.teardown(() => clearInterval(sending))
  held[0]!.writeHead(200, { 'content-length': String(BODY) })
  held[0]!.end(Buffer.alloc(BODY, 'a'))
  // the gateway has handed the whole answer to its socket (logged), and goes on reading the garbage
  await waitFor(() => gw.accessLogs().length === 1)
  await waitFor(() => gw.gateway.proxy.active === 0)
  socket.resume()
  await closed
  clearInterval(sending)
  t.match(head, /^HTTP\/1\.1 200 /)
  t.ok(bytes > BODY, `the whole answer was read (${bytes} bytes)`)
  t.not(error, 'ECONNRESET', 'not reset')
})

t.test('garbage behind a request still waiting for its answer: that answer says Connection: close (RFC 9112 §9.6)', async (t) => {
  // the answer is the connection's last (the bytes behind it are never processed): it must say so, or the
  // client reuses a connection the gateway is closing and loses its next request
  const { held, socket, closed } = await heldAnswers(t)
  let received = ''
  socket.on('error', () => {})
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\nNOT A REQUEST\r\n\r\n')
  await waitFor(() => held.length === 1)
  held[0]!.end('answered')
  await closed
  const head = received.split('\r\n\r\n')[0]!
  t.match(head, /^HTTP\/1\.1 200 /, 'the request before the garbage is answered')
  t.match(head, /\r\nconnection: close(\r\n|$)/i, 'its answer says the connection closes')
  t.ok(received.endsWith('answered'), 'whole')
})
