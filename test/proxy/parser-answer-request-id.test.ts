// A request already being proxied whose body Node's parser refuses (a bad chunk size) is answered 400 by the parser
// handler, not by its exchange: that answer carries the request's id as every other answer does (README: always
// returned), the same id its access-log line has, so an operator can match a client's error to its line.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, upstream } from './setup.ts'

t.test("a parser's 400 to a request being proxied names that request's id", async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  for (const [name, given] of [['given by the client', 'bad-chunk-1'], ['made by the gateway', undefined]] as const) {
    const client = rawConnection(t, Number(new URL(gw.url).port))
    await client.connected
    const before = gw.accessLogs().length
    client.socket.write(`PUT /upload HTTP/1.1\r\nHost: a.example\r\n${given === undefined ? '' : `X-Request-Id: ${given}\r\n`}Transfer-Encoding: chunked\r\n\r\n`)
    await waitFor(() => gw.gateway.proxy.active === 1)
    client.socket.write('zz\r\n')
    await client.closed
    await waitFor(() => gw.accessLogs().length > before)
    const line = gw.accessLogs()[before]!
    t.match(client.received(), /^HTTP\/1\.1 400 /, `${name}: 400`)
    t.equal(line.status, 400, `${name}: logged 400`)
    t.equal(line.error, 'bad_request', name)
    const id = /\r\nx-request-id: ([^\r]+)\r\n/i.exec(client.received())?.[1]
    t.ok(id, `${name}: the answer names a request id`)
    t.equal(id, line.requestId, `${name}: the one its access-log line has`)
    if (given !== undefined) t.equal(id, given, `${name}: the client's own`)
  }
})
