// A connection's pipelining queue remembers the response of the request that began waiting last (what a parse
// failure behind it closes after: src/proxy/client-error.ts). Once that response has had its turn it must go: kept
// until the connection closed, each idle keep-alive connection held its last pipelined response, its request and
// exchange, and a buffered upload of up to 64 KiB (a review measured 100 such connections at +10 MB).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { ServerResponse } from 'node:http'
import t from 'tap'
import { waitUntilCollected } from '../helpers/collected.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('an answered pipelined response is freed while its connection stays open', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  u.delayMs = 50
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const answered: WeakRef<ServerResponse>[] = []
  const onFinish = (message: unknown): void => {
    const { request, response } = message as { request: { url?: string }; response: ServerResponse }
    if (request.url === '/b' && exchangeCarried(response)) answered.push(new WeakRef(response))
  }
  subscribe('http.server.response.finish', onFinish)
  t.teardown(() => unsubscribe('http.server.response.finish', onFinish))

  const body = 'x'.repeat(60 * 1024)
  const connections = Array.from({ length: 5 }, () => rawConnection(t, Number(new URL(gw.url).port)))
  for (const c of connections) c.socket.write(`GET /a HTTP/1.1\r\nHost: gw\r\n\r\nPOST /b HTTP/1.1\r\nHost: gw\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  await waitFor(() => connections.every((c) => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === 2), 10_000)
  t.equal(answered.length, 5, 'five pipelined responses answered')
  // the connections stay open (keep-alive, idle): their queues stay too
  await waitUntilCollected(() => answered.filter((r) => r.deref() !== undefined).map(() => 'an answered pipelined response'), (held) => {
    throw new Error(`${held.length} of 5 answered pipelined responses still held while their connections are open`)
  })
  t.ok(connections.every((c) => !c.isClosed()), 'the connections are still open')
})

/** Whether the response went through the proxy (the gateway's listener, not the test upstream's). */
function exchangeCarried (res: ServerResponse): boolean {
  return Object.getOwnPropertySymbols(res).some((s) => s.description === 'switchyard.exchange')
}
