// The trailer fields of a chunked answer go on to a client whose answer is chunked too (HTTP/1.1), without those that
// are hop-by-hop or that a trailer section must not carry (RFC 9110 §6.5.1: framing, routing, authentication) and
// without those the head's Connection named. An HTTP/1.0 client's answer has no chunks to carry them: they are dropped.
import { request } from 'node:http'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, type Tap } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

// (a Content-Length among them makes undici's parser refuse the answer: not one to test here)
const TRAILERS = ['X-Checksum: sha256=abc', 'Server-Timing: db;dur=53', 'Server-Timing: app;dur=47', 'Transfer-Encoding: gzip',
  'Host: evil.example', 'Authorization: Basic eDp5', 'WWW-Authenticate: Basic', 'X-Request-Id: forged', 'X-Hop: named', 'Keep-Alive: timeout=1']
const ANSWER = `HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n${TRAILERS.map((l) => `${l}\r\n`).join('')}\r\n`

async function setup (t: Tap): Promise<string> {
  const u = await ScriptedUpstream.start((socket) => { socket.write(ANSWER) })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  return gw.url
}

t.test('an HTTP/1.1 client gets the trailer fields it may take', async (t) => {
  const url = await setup(t)
  const { body, rawTrailers } = await new Promise<{ body: string; rawTrailers: string[] }>((resolve, reject) => {
    request(`${url}/x`, { agent: false, headers: { te: 'trailers' } }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (chunk: string) => { body += chunk })
      res.once('end', () => resolve({ body, rawTrailers: res.rawTrailers }))
      res.once('error', reject)
    }).once('error', reject).end()
  })
  t.equal(body, 'ok')
  const pairs: string[] = []
  for (let i = 0; i < rawTrailers.length; i += 2) pairs.push(`${rawTrailers[i]!.toLowerCase()}: ${rawTrailers[i + 1]}`)
  t.strictSame(pairs, ['x-checksum: sha256=abc', 'server-timing: db;dur=53', 'server-timing: app;dur=47'])
})

t.test('an HTTP/1.0 client gets the body to the close, without trailer fields', async (t) => {
  const url = await setup(t)
  const c = rawConnection(t, Number(new URL(url).port))
  await c.connected
  c.socket.write('GET /x HTTP/1.0\r\nHost: a\r\n\r\n')
  await c.closed
  const text = c.received()
  t.match(text, /^HTTP\/1\.1 200 /)
  t.equal(text.slice(text.indexOf('\r\n\r\n') + 4), 'ok')
})
