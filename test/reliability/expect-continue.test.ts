// Expect: 100-continue (RFC 9110 §10.1.1): the gateway, not Node, says 100 Continue, and only once it has routed and
// admitted the request and found its declared length within the route's limit. A request it refuses (no route,
// 413) is answered without first being told to send its body, and its connection closes (the client may still
// send it). HTTP/1.0 clients' expectations are ignored.
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { settlesWithin, startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function setup (t: Test): Promise<{ port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/small', pool: 'p', maxBodyBytes: 5 }, { path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { port: Number(new URL(gw.url).port), u }
}

const head = (path: string, length: number, version = '1.1'): string =>
  `POST ${path} HTTP/${version}\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`

t.test('a routed request hears 100 Continue, then sends its body, which reaches the upstream', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(head('/api', 10))
  await waitFor(() => c.received().includes('\r\n\r\n'))
  t.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/)
  t.equal(u.requests.length, 0, 'nothing upstream before the body')
  c.socket.write('0123456789')
  await waitFor(() => /HTTP\/1\.1 200 /.test(c.received()))
  await waitFor(() => u.requests.length === 1)
  t.equal(u.requests[0]!.bodyBytes, 10)
  t.equal(u.requests[0]!.headers.expect, undefined, 'the expectation was met here, not passed on')
})

for (const [what, path, length, status] of [['no route', '/nowhere', 10, 404], ['a body over maxBodyBytes', '/small', 10, 413]] as const) {
  t.test(`${what}: answered ${status} without 100 Continue, and the connection closes`, async (t) => {
    const { port, u } = await setup(t)
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(head(path, length))
    await settlesWithin(c.closed, 3000)
    t.match(c.received(), new RegExp(`^HTTP/1\\.1 ${status} `), 'the final answer comes first')
    t.notMatch(c.received(), /100 Continue/)
    t.match(c.received(), /\r\nconnection: close\r\n/i)
    t.equal(u.requests.length, 0)
  })
}

t.test('an HTTP/1.0 client\'s expectation is ignored: no 100 Continue', async (t) => {
  const { port, u } = await setup(t)
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(head('/api', 3, '1.0') + 'abc')
  await settlesWithin(c.closed, 3000)
  t.match(c.received(), /^HTTP\/1\.1 200 /)
  t.notMatch(c.received(), /100 Continue/)
  t.equal(u.requests[0]?.bodyBytes, 3)
})
