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
  const held: ServerResponse[] = []
  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' })
    res.write('x'.repeat(10))
    held.push(res)
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const res of held) res.destroy(); upstream.close() })
  const gw = await startGateway({ pools: { p: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const socket = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
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
