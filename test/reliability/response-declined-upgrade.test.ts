// A WebSocket handshake the target declines (401, 403…) is answered by the target's own answer, under the request
// path's rules: a transfer coding other than chunked (its bytes would reach the client without its name) is a bad
// response, 502, as on the request path; the reason phrase goes on only where it can be written back as it came.
// The declined-upgrade writer passed gzip bytes on with the coding's name stripped, and rewrote a latin1 phrase byte
// as the three bytes of U+FFFD.
import { gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { gateway } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'
import { sendHandshake } from '../proxy/queued-handshake.ts'

async function declined (t: Test, answer: Buffer): Promise<string> {
  const u = await ScriptedUpstream.start((socket) => { socket.end(answer) })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const conn = await sendHandshake(t, gw.url)
  await conn.closed
  return conn.received()
}

t.test('a declined handshake whose body is under Transfer-Encoding: gzip is 502, as a request\'s answer is', async (t) => {
  const coded = gzipSync(Buffer.from('{"error":"forbidden"}'))
  const got = await declined(t, Buffer.concat([Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n', 'latin1'), coded]))
  t.match(got, /^HTTP\/1\.1 502 /)
  t.match(got, /"error":"upstream_bad_response"/)
})

t.test('a declined handshake with chunked framing still passes on', async (t) => {
  const got = await declined(t, Buffer.from('HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n', 'latin1'))
  t.match(got, /^HTTP\/1\.1 403 Forbidden\r\n/)
  t.match(got, /\r\n\r\nno$/)
})

t.test('a declined handshake\'s reason phrase goes on when plain ASCII, else Node\'s', async (t) => {
  const own = await declined(t, Buffer.from('HTTP/1.1 403 Go Away\r\nContent-Length: 0\r\n\r\n', 'latin1'))
  t.equal(own.split('\r\n')[0], 'HTTP/1.1 403 Go Away')
  const latin1 = await declined(t, Buffer.from('HTTP/1.1 403 Interdit \xe9\r\nContent-Length: 0\r\n\r\n', 'latin1'))
  t.equal(latin1.split('\r\n')[0], 'HTTP/1.1 403 Forbidden')
})
