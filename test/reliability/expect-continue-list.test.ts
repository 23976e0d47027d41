// Whether a request expects 100 Continue is Node's reading of its Expect field (it matches 100-continue within a
// list, e.g. `100-continue, 100-continue`), not one the gateway makes again: a request Node hands the gateway as
// expecting 100 Continue hears it, or its client, waiting for it, would wait until it gave up.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('Expect: 100-continue, 100-continue is answered 100 Continue, then the body goes upstream', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  const c = rawConnection(t, Number(new URL(gw.url).port))
  await c.connected
  c.socket.write('POST /api/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, 100-continue\r\nContent-Length: 5\r\n\r\n')
  await waitFor(() => c.received().includes('\r\n\r\n'))
  t.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/)
  c.socket.write('hello')
  await waitFor(() => /HTTP\/1\.1 200 /.test(c.received()))
  t.equal(u.requests[0]?.bodyBytes, 5)
  t.equal(u.requests[0]?.headers.expect, undefined, 'the expectation was met here, not passed on')
})
