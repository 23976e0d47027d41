// Requests pipelined on one connection reach the upstream one at a time, in order: the next is sent only once
// the answer before it is written (RFC 9112 §9.3.2 allows parallel processing for safe methods only), and never
// when that answer closes the connection (§9.6). The upstream holds the first request until the test releases
// it; a request on another connection is the barrier that shows what the gateway had sent meanwhile.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { holdingUpstream } from '../helpers/holding-upstream.ts'
import { rawConnection } from '../helpers/raw-connection.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function gatewayBefore (t: Tap, upstreamUrl: string): Promise<number> {
  const gw = await startGateway({ pools: { u: { targets: [upstreamUrl] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return Number(new URL(gw.url).port)
}

/** One GET on a connection of its own, through the gateway; resolves with its status once answered. */
function barrier (port: number): Promise<number> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/barrier', agent: false }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    }).once('error', () => resolve(0)).end()
  })
}

const statusLines = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}/g) ?? []

t.test('a POST pipelined behind one still being answered waits for that answer, then goes', async (t) => {
  const u = await holdingUpstream(t)
  const port = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  c.socket.write('POST /hold/1 HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\none' +
    'POST /second HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\ntwo')
  await waitFor(() => u.seen.length >= 1)
  t.equal(await barrier(port), 200)
  t.same(u.seen, ['POST /hold/1', 'GET /barrier'], 'the second request was not sent while the first was unanswered')
  u.release()
  await waitFor(() => statusLines(c.received()).length === 2)
  t.same(u.seen, ['POST /hold/1', 'GET /barrier', 'POST /second'])
  const text = c.received()
  t.ok(text.indexOf('released') < text.indexOf('answered /second'), 'answers in request order')
})

for (const [name, first] of [
  ['Connection: close', 'GET /hold/first HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'],
  ['HTTP/1.0 without keep-alive', 'GET /hold/first HTTP/1.0\r\nHost: gw\r\n\r\n'],
] as const) {
  t.test(`bytes pipelined behind a request that closes the connection (${name}): that request is answered, nothing after it is sent`, async (t) => {
    const u = await holdingUpstream(t)
    const port = await gatewayBefore(t, u.url)
    const c = rawConnection(t, port)
    c.socket.write(first + 'POST /second HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\ntwo')
    await waitFor(() => u.seen.length >= 1)
    u.release()
    await c.closed
    t.same(statusLines(c.received()), ['HTTP/1.1 200'], 'its answer (Node answers HTTP/1.1 to 1.0 too), then the connection closed')
    t.match(c.received(), /released$/)
    t.equal(await barrier(port), 200)
    t.same(u.seen, ['GET /hold/first', 'GET /barrier'], 'the POST behind it was never sent')
  })
}

t.test('pipelined requests answered one by one all go, in order', async (t) => {
  const u = await holdingUpstream(t)
  const port = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  c.socket.write(['/a', '/b', '/c'].map((p) => `GET ${p} HTTP/1.1\r\nHost: gw\r\n\r\n`).join(''))
  await waitFor(() => statusLines(c.received()).length === 3)
  t.same(u.seen, ['GET /a', 'GET /b', 'GET /c'])
  const text = c.received()
  t.ok(text.indexOf('answered /a') < text.indexOf('answered /b') && text.indexOf('answered /b') < text.indexOf('answered /c'), 'answers in request order')
})

// Every request received whole before the bytes is answered, in order (as nginx and HAProxy serve pipelined
// requests one at a time), the last answer closing the connection; the bytes are never answered.
for (const [name, behind, answered] of [
  ['bytes that are not a request', 'NOT A REQUEST\r\n\r\n', ['first']],
  ['a request, then bytes that are not a request', 'GET /second HTTP/1.1\r\nHost: gw\r\n\r\nNOT A REQUEST\r\n\r\n', ['first', 'second']],
] as const) {
  t.test(`${name} pipelined behind a request still waiting for its answer: the requests before the bytes are answered, then the connection closes`, async (t) => {
    const u = await holdingUpstream(t)
    const port = await gatewayBefore(t, u.url)
    const c = rawConnection(t, port)
    c.socket.write('GET /hold/first HTTP/1.1\r\nHost: gw\r\n\r\n' + behind)
    await waitFor(() => u.seen.length >= 1)
    u.release()
    await c.closed
    const text = c.received()
    t.same(statusLines(text), answered.map(() => 'HTTP/1.1 200'), 'their answers and nothing else (no 400 in their place)')
    const last = text.slice(text.lastIndexOf('HTTP/1.1 '))
    t.match(last, /connection: close/i, 'the last answer says the connection closes')
    t.match(last, answered.length === 1 ? /released$/ : /answered \/second$/)
    t.equal(await barrier(port), 200)
    t.same(u.seen, [...answered.map((p) => `GET /${p === 'first' ? 'hold/first' : p}`), 'GET /barrier'], 'nothing behind the bytes was sent')
  })
}
