// No Transfer-Encoding in an answer to an HTTP/1.0 request (RFC 9112 §6.1), even one whose TE field lists chunked
// (Node chunks then): a 1.0 client would read the chunk sizes as body bytes. The body runs to the close instead.
// So an answer cut short (the upstream closed mid-body) can reach an HTTP/1.0 client only as a reset: a FIN would end
// its body as if it were whole (RFC 9112 §8). An HTTP/1.1 client's framing shows the cut, and it is never reset.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

for (const te of ['', 'TE: chunked\r\n', 'TE: trailers, chunked\r\n']) {
  t.test(`an HTTP/1.0 request with ${te === '' ? 'no TE' : te.trim()} gets no chunked answer`, async (t) => {
    const u = await ScriptedUpstream.start((socket) => { socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n') })
    t.teardown(() => u.close())
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const c = rawConnection(t, Number(new URL(gw.url).port))
    await c.connected
    c.socket.write(`GET /x HTTP/1.0\r\nHost: a\r\n${te}\r\n`)
    await c.closed
    const text = c.received()
    const end = text.indexOf('\r\n\r\n')
    t.match(text, /^HTTP\/1\.1 200 /)
    t.notMatch(text.slice(0, end), /\r\ntransfer-encoding:/i, 'no Transfer-Encoding')
    t.equal(text.slice(end + 4), 'hello', 'the body as it was, ended by the close (no chunks, no trailer fields)')
  })
}

for (const version of ['1.0', '1.1'] as const) {
  t.test(`an answer cut mid-body reaches an HTTP/${version} client ${version === '1.0' ? 'as a reset' : 'closed, not reset'}`, async (t) => {
    // 5 of 100 announced body bytes, then the upstream closes: undici sees the body cut after the head went out
    const u = await ScriptedUpstream.start((socket) => { socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello') })
    t.teardown(() => u.close())
    const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const c = rawConnection(t, Number(new URL(gw.url).port))
    await c.connected
    c.socket.write(`GET /x HTTP/${version}\r\nHost: a\r\n\r\n`)
    await c.closed
    if (version === '1.0') t.equal(c.error(), 'ECONNRESET', 'reset: a FIN would end the body as if whole')
    else {
      t.equal(c.error(), undefined, 'a FIN: the framing shows the cut')
      t.match(c.received(), /^HTTP\/1\.1 200 /)
    }
  })
}
