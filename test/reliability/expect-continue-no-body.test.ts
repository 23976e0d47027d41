// Expect: 100-continue on a request with no body (Content-Length: 0, or a GET) keeps its connection alive: the
// gateway says 100 Continue anyway (legal, and cheap), because Node closes the connection after an answer that went
// out without the 100 it left to the gateway, dropping the requests pipelined behind. nginx keeps it alive too. So does a refusal for
// overload (a closed connection would make its client reconnect: more work for a gateway already behind).
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function setup (t: Test): Promise<{ port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { port: Number(new URL(gw.url).port), u }
}

const answers = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]!)

t.test('POST with Content-Length: 0 and Expect: the request pipelined behind it is answered too', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('POST /api/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\nGET /api/b HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => answers(c.received()).filter((s) => s === '200').length === 2)
  t.strictSame(answers(c.received()), ['100', '200', '200'])
  t.notMatch(c.received(), /connection: close/i)
  t.strictSame(u.requests.map((r) => r.url), ['/api/a', '/api/b'])
})

t.test('GET with Expect: the connection stays open for the next request', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /api/c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n')
  await waitFor(() => answers(c.received()).includes('200'))
  t.notMatch(c.received(), /connection: close/i)
  c.socket.write('GET /api/d HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => answers(c.received()).filter((s) => s === '200').length === 2)
  t.strictSame(u.requests.map((r) => r.url), ['/api/c', '/api/d'])
})

t.test('a bodiless request refused (no route) keeps its connection too', async (t) => {
  const { port } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write('GET /nowhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nGET /api/e HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => answers(c.received()).includes('200'))
  t.strictSame(answers(c.received()), ['100', '404', '200'])
})

t.test('a bodiless request refused for overload keeps its connection too', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ server: { maxHeapUsedBytes: 1 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  // the overload check samples on its own timer
  await waitFor(async () => { const r = await fetch(`${gw.url}/api`); await r.arrayBuffer(); return r.status === 503 }, 5000, 100)
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('GET /api/f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nGET /api/g HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => answers(c.received()).filter((s) => s === '503').length === 2)
  t.strictSame(answers(c.received()), ['100', '503', '503'])
  t.notMatch(c.received(), /connection: close/i)
  // (the requests before the overload sampling began went through)
  t.strictSame(u.requests.filter((r) => r.url === '/api/f' || r.url === '/api/g'), [])
})
