// An upstream may answer before it has read the whole upload. When the upload then crosses the route's
// maxBodyBytes, or stops arriving, the attempt ends; the answer the client has begun to receive can no longer be
// finished, so it is cut short (its framing shows the cut) and logged with why: never left open.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from './setup.ts'

/** Answers at once with headers and the start of a body, reads the upload, and never ends its answer. */
async function earlyAnswer (t: Tap): Promise<{ url: string; answers: ServerResponse[] }> {
  const answers: ServerResponse[] = []
  const server = createServer((req, res) => {
    answers.push(res)
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('early ')
    req.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answers }
}

const cases = [
  { name: 'the upload crosses maxBodyBytes', code: 'body_too_large', route: { maxBodyBytes: 1000 }, timeouts: {} },
  { name: 'the upload stops arriving', code: 'request_timeout', route: {}, timeouts: { clientIdleMs: 200 } },
] as const

for (const c of cases) {
  t.test(`${c.name} after the upstream began its answer: the answer is cut short and logged ${c.code}`, async (t) => {
    const up = await earlyAnswer(t)
    const gw = await gateway(t, {
      pools: { p: { targets: [up.url], retry: { maxBufferBytes: 0 }, timeouts: c.timeouts } },
      routes: [{ path: '/', pool: 'p', ...c.route }],
    }, { defaultMetrics: false })
    const client = rawConnection(t, Number(new URL(gw.url).port))
    await client.connected
    client.socket.write('POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n')
    await waitFor(() => client.received().includes('early'))
    t.match(client.received(), /^HTTP\/1\.1 200 /, 'the answer had begun')
    if (c.code === 'body_too_large') client.socket.write(`7d0\r\n${'x'.repeat(2000)}\r\n`)
    await client.closed
    t.notMatch(client.received(), /\r\n0\r\n\r\n$/, 'no clean end of the chunked answer')
    await waitFor(() => gw.gateway.proxy.active === 0)
    await waitFor(() => up.answers[0]!.destroyed)
    t.ok(up.answers[0]!.destroyed, "the upstream's request was aborted")
    await waitFor(() => gw.accessLogs().length === 1)
    t.equal(gw.accessLogs()[0]!.error, c.code)
  })
}
