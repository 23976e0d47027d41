// A declined WebSocket upgrade whose answer's body the upstream breaks (a chunk-size line llhttp refuses, a bad
// response, not a reset): the client's connection is reset too, whatever cut the answer. Its body runs to the close
// (the upstream's chunking stripped), so a FIN would end it as if whole (RFC 9112 §8). Pins that the reset of
// src/proxy/upgrade-attempt.ts (onResponseError, an answer begun) is for every failure kind, not for a reset only
// (mutant AW26, review r42i); test/proxy/upgrade-declined-cut-shows.test.ts has the upstream's reset.
import { connect } from 'node:net'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { ScriptedUpstream } from '../reliability/scripted-upstream.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

t.test("a declined upgrade's answer whose body the upstream breaks reaches the client as a reset, not a clean end", async (t) => {
  const u = await ScriptedUpstream.start((socket) => {
    // the first chunk whole, then a chunk-size line that is no hex number: undici's parser refuses it
    socket.write('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nnope!\r\n', () => setTimeout(() => socket.write('zz\r\n'), 50))
  })
  const gw = await startGateway({ pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })

  const client = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => client.destroy())
  let received = ''
  client.setEncoding('latin1')
  client.on('data', (chunk: string) => { received += chunk })
  const ended = new Promise<string>((resolve) => {
    client.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    client.on('end', () => resolve('FIN'))
  })
  client.write(HANDSHAKE)
  t.equal(await ended, 'ECONNRESET', 'the cut shows')
  t.match(received, /^HTTP\/1\.1 403 /, 'the declined answer had begun')
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { status: 403, error: 'upstream_bad_response' }, 'logged with the status that went out and why it was cut')
})
