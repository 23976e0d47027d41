// RFC 9110 §10.1.1: the 100-continue expectation is case-insensitive ("100-Continue" is the same expectation), and an
// upgrade that carries it hears a 100 before its 101 (RFC 9110 §7.8; upgrade-expect-continue.test.ts). The gateway
// reads Expect as Node's server does for a plain request (its continueExpression: any case, a token in the value),
// so a client spelling it otherwise is not left without the 100 it waits for.
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

const HANDSHAKE = 'GET /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

for (const expect of ['100-Continue', '100-CONTINUE']) {
  t.test(`Expect: ${expect} on an upgrade gets a 100 before the 101`, async (t) => {
    const ws = await TestUpstream.start({ name: 'ws' })
    t.teardown(() => ws.close())
    const gw = await gateway(t, { pools: { p: { targets: [ws.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const c = rawConnection(t, Number(new URL(gw.url).port))
    await c.connected
    c.socket.write(`${HANDSHAKE}Expect: ${expect}\r\n\r\n`)
    await waitFor(() => /HTTP\/1\.1 101[^]*\r\n\r\n/.test(c.received()))
    t.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 101 Switching Protocols\r\n/, 'the 100, then the 101')
  })
}
