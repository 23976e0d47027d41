// Transfer-coding names are case-insensitive (RFC 9112 §7): an answer framed `Transfer-Encoding:  Chunked` is chunked
// and passes on, as `chunked` does; only a coding other than chunked is refused (502). (A mutation test found that
// no test told the two apart.)
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

for (const spelling of ['Chunked', 'CHUNKED', ' chunked']) {
  t.test(`an answer with Transfer-Encoding:${spelling} passes on`, async (t) => {
    const u = await ScriptedUpstream.start((socket) => { socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding:${spelling}\r\n\r\n2\r\nok\r\n0\r\n\r\n`) })
    t.teardown(() => u.close())
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const conn = rawConnection(t, Number(new URL(gw.url).port))
    await conn.connected
    conn.socket.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await conn.closed
    t.match(conn.received(), /^HTTP\/1\.1 200 OK\r\n/)
    t.match(conn.received(), /\r\n\r\n2\r\nok\r\n0\r\n\r\n$/)
  })
}
