// Bytes that fail to parse, pipelined behind requests on one connection (src/proxy/client-error.ts, lastAnswerOwed and
// the refusal written after an answer the gateway wrote at once). Pins what the existing tests leave open:
// - three requests waiting behind one being answered: every one is answered, and it is the LAST that closes the
//   connection (not the first that began waiting);
// - a request refused ahead of its turn (URL over maxUrlBytes) between the waiting ones and the bytes: the connection
//   closes after the answer under way, and the request waiting before the refusal is never sent upstream;
// - an answer the gateway wrote at once, then a request refused ahead of its turn, then the bytes: nothing follows
//   the answer (no refusal a client would read as the refused request's answer);
// - bytes that fail to parse while an answer is being streamed (its head sent, not yet ended): the connection is cut,
//   and no refusal lands in the middle of that answer's body.
// Real loopback servers on port 0; the gateway runs in this process.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { holdingUpstream } from '../helpers/holding-upstream.ts'
import { rawConnection } from '../helpers/raw-connection.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function gatewayBefore (t: Tap, upstreamUrl: string) {
  const gw = await startGateway({ pools: { u: { targets: [upstreamUrl] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return { gw, port: Number(new URL(gw.url).port) }
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: gw\r\n${extra}\r\n`
const OPTIONS_AT_ONCE = 'OPTIONS /x HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n'
/** Over the gateway's maxUrlBytes (8 KiB), under Node's header limit (16 KiB): the gateway refuses it (414) itself. */
const TOO_LONG = get('/' + 'x'.repeat(9000))
const GARBAGE = 'NOT A REQUEST\r\n\r\n'
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
const lastAnswer = (text: string): string => text.slice(text.lastIndexOf('HTTP/1.1 '))

t.test('three requests waiting behind one being answered, then bytes that fail to parse: all answered, the last closes', async (t) => {
  const u = await holdingUpstream(t)
  const { port } = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(get('/hold/1') + get('/b') + get('/c') + get('/d') + GARBAGE)
  await waitFor(() => u.seen.length >= 1)
  u.release()
  await c.closed
  const text = c.received()
  t.strictSame(statuses(text), [200, 200, 200, 200], text)
  t.match(lastAnswer(text), /\r\nconnection: close\r\n/i, 'the last answer closes the connection')
  t.match(lastAnswer(text), /answered \/d$/)
  t.equal(c.error(), undefined, 'closed without a reset')
  t.strictSame(u.seen, ['GET /hold/1', 'GET /b', 'GET /c', 'GET /d'])
})

t.test('a request refused ahead of its turn between a waiting one and the bytes: the answer under way closes, the waiting one is never sent', async (t) => {
  const u = await holdingUpstream(t)
  const { port } = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(get('/hold/1') + get('/b') + TOO_LONG + GARBAGE)
  await waitFor(() => u.seen.length >= 1)
  u.release()
  await c.closed
  const text = c.received()
  t.strictSame(statuses(text), [200], text)
  t.match(text, /\r\nconnection: close\r\n/i)
  t.strictSame(u.seen, ['GET /hold/1'], 'the request waiting before the refusal never went upstream')
})

t.test('an answer written at once, a request refused ahead of its turn, then bytes that fail to parse: nothing follows the answer', async (t) => {
  const u = await holdingUpstream(t)
  const { port } = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(OPTIONS_AT_ONCE + TOO_LONG + GARBAGE)
  await c.closed
  t.strictSame(statuses(c.received()), [200], c.received())
  t.strictSame(u.seen, [])
})

t.test('bytes that fail to parse while an answer is being streamed: the connection is cut, no refusal inside its body', async (t) => {
  const u = await holdingUpstream(t)
  const { port } = await gatewayBefore(t, u.url)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(get('/stream/1'))
  // the head and the first part of the body have reached the client: the answer is under way, not ended
  await waitFor(() => c.received().includes('partial'))
  c.socket.write(GARBAGE)
  await c.closed
  t.strictSame(statuses(c.received()), [200], c.received())
  t.notMatch(c.received(), /bad_request/, 'no refusal written into the streamed body')
  t.strictSame(u.seen, ['GET /stream/1'])
})
