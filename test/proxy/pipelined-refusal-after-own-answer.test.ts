// A request the gateway answers itself at once (an OPTIONS with Max-Forwards: 0, a 404 for no route), and in the
// same read bytes that fail to parse: that answer was already written whole, with keep-alive, when Node's parser
// reached them. The bytes still get their refusal, after the answer, and the connection then closes (a request
// fuzz seed found the connection cut after the keep-alive answer with no refusal at all). Nothing reaches an
// upstream.
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

async function setup (t: Test): Promise<{ gw: TestGateway; port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/payment', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

const DUPLICATE_LENGTH = 'GET /payment HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET /payment/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n'

/** The status lines of every answer in `text`, in order. */
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))

const CASES = {
  'OPTIONS with Max-Forwards: 0, then two Content-Length lines': { first: 'OPTIONS /payment HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n', then: DUPLICATE_LENGTH, expect: [200, 400] },
  'a request with no route, then two Content-Length lines': { first: 'GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n', then: DUPLICATE_LENGTH, expect: [404, 400] },
  'OPTIONS with Max-Forwards: 0, then an unknown method': { first: 'OPTIONS /payment/x HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n', then: 'BREW /payment HTTP/1.1\r\nHost: gw\r\n\r\n', expect: [200, 501] },
}

for (const [name, { first, then, expect }] of Object.entries(CASES)) {
  t.test(`${name}, in one write: both answered in order, then the connection closes`, async (t) => {
    const { gw, port, u } = await setup(t)
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(first + then)
    await c.closed
    const text = c.received()
    t.strictSame(statuses(text), expect, text)
    t.match(text.slice(text.lastIndexOf('HTTP/1.1 ')), /\r\nconnection: close\r\n/i, 'the refusal closes the connection')
    t.equal(c.error(), undefined, 'closed without a reset')
    t.equal(u.requests.length, 0, 'nothing reached the upstream')
    // the refusal is logged and counted like any other the parser makes
    await waitFor(() => gw.accessLogs().length === 2)
    // (in the order they ended: the refusal's line can come first)
    t.strictSame(gw.accessLogs().map((l) => l.status as number).sort(), [...expect].sort())
    const series = seriesOf(await gw.gateway.metrics!.render())
    const refused = Object.entries(series).filter(([k]) => k.startsWith('switchyard_refused_requests_total{') && k.includes(`code="${expect[1]}"`))
    t.strictSame(refused.map(([, v]) => v), [1], 'the refusal counted once')
  })
}

t.test('the refusal follows an answer a slow reader has not taken yet: both arrive whole', async (t) => {
  const { port } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.pause()
  c.socket.write('OPTIONS /payment HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n' + DUPLICATE_LENGTH)
  // more bytes after the refusal, while the client is not reading: a close with them unread would reset
  await new Promise((resolve) => setTimeout(resolve, 100))
  c.socket.write('GET /payment HTTP/1.1\r\nHost: gw\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 100))
  c.socket.resume()
  await c.closed
  t.strictSame(statuses(c.received()), [200, 400])
  t.equal(c.error(), undefined, 'closed without a reset')
})

t.test('an answered request, then one proxied, then bytes that fail to parse: the proxied one is answered, and closes', async (t) => {
  const { port, u } = await setup(t)
  u.delayMs = 100
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('OPTIONS /payment HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\nGET /payment/b HTTP/1.1\r\nHost: gw\r\n\r\n' + DUPLICATE_LENGTH)
  await c.closed
  const text = c.received()
  t.strictSame(statuses(text), [200, 200], text)
  t.match(text.slice(text.lastIndexOf('HTTP/1.1 ')), /\r\nconnection: close\r\n/i, 'the proxied answer closes the connection')
  t.strictSame(u.requests.map((r) => r.url), ['/payment/b'])
})

t.test('an answer at once that closes the connection (two Host lines), then bytes that fail to parse: nothing follows it', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /payment HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\nBREW /payment HTTP/1.1\r\nHost: gw\r\n\r\n')
  await c.closed
  const text = c.received()
  t.strictSame(statuses(text), [400], text)
  t.match(text, /\r\nconnection: close\r\n/i)
  t.equal(u.requests.length, 0)
})
