// The upstream's reason phrase reaches the client as it came (as nginx and HAProxy pass it), where Node would write
// its own: a status Node has no name for (it wrote 'unknown'), or a phrase of the upstream's own. A phrase Node could
// not write back byte for byte (beyond visible ASCII) gets Node's.
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

const CASES = [
  { upstream: 'HTTP/1.1 299 Custom Thing', client: 'HTTP/1.1 299 Custom Thing' },
  { upstream: 'HTTP/1.1 520 Origin Error', client: 'HTTP/1.1 520 Origin Error' },
  { upstream: 'HTTP/1.1 200 Okay Dokay', client: 'HTTP/1.1 200 Okay Dokay' },
  { upstream: 'HTTP/1.1 404 Not Found', client: 'HTTP/1.1 404 Not Found' },
  // RFC 9112 §4 allows HTAB in a phrase beside SP and visible ASCII
  { upstream: 'HTTP/1.1 299 Custom\tThing', client: 'HTTP/1.1 299 Custom\tThing' },
  { upstream: 'HTTP/1.1 200 caf\xe9', client: 'HTTP/1.1 200 OK' },
] as const

for (const c of CASES) {
  t.test(`upstream "${c.upstream}" reaches the client as "${c.client}"`, async (t) => {
    const u = await ScriptedUpstream.start((socket) => { socket.write(Buffer.from(`${c.upstream}\r\nContent-Length: 2\r\n\r\nok`, 'latin1')) })
    t.teardown(() => u.close())
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const conn = rawConnection(t, Number(new URL(gw.url).port))
    await conn.connected
    conn.socket.write('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await conn.closed
    t.equal(conn.received().split('\r\n')[0], c.client)
  })
}
