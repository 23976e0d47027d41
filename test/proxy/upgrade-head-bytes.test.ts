// An upstream's answer to a WebSocket upgrade (its 101, or the answer that declines it) reaches the client with its
// header bytes exactly as sent, bytes above 0x7F too, as on a plain request; and, like every answer, with the
// request's X-Request-Id. A field the upstream repeats (two Set-Cookie) goes on as two fields, never joined into one
// (RFC 6265 §3: Set-Cookie must not be folded).
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

/** "Zürich" in UTF-8: two bytes above 0x7F. */
const VALUE = Buffer.from('realm="Zürich"', 'utf8')

const ANSWERS = {
  '/ws-ok': Buffer.concat([Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Realm: '), VALUE, Buffer.from('\r\n\r\n')]),
  '/ws-declined': Buffer.concat([Buffer.from('HTTP/1.1 401 Unauthorized\r\nX-Realm: '), VALUE, Buffer.from('\r\nContent-Length: 0\r\n\r\n')]),
}

/** Answers with two Set-Cookie fields: the 101 and a declining 401. */
const COOKIE_ANSWERS = {
  '/ws-ok': Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n'),
  '/ws-declined': Buffer.from('HTTP/1.1 401 Unauthorized\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n'),
}

async function rawUpstream (t: Tap, answers: Record<string, Buffer> = ANSWERS): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', (d: Buffer) => socket.write(answers[d.toString('latin1').split(' ')[1]!]!))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

for (const path of Object.keys(ANSWERS)) {
  t.test(`${path}: header bytes pass exactly, with the request id`, async (t) => {
    const up = await rawUpstream(t)
    const gw = await gateway(t, { pools: { p: { targets: [up], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const client = rawConnection(t, Number(new URL(gw.url).port))
    await client.connected
    client.socket.write(wsHandshake(path, 'mine-1'))
    await waitFor(() => client.received().includes('\r\n\r\n'))
    const head = Buffer.from(client.received().split('\r\n\r\n')[0]!, 'latin1')
    const at = head.indexOf('x-realm: ')
    t.ok(at >= 0, 'the header was passed on')
    t.same(head.subarray(at + 'x-realm: '.length, head.indexOf('\r\n', at)), VALUE, 'byte for byte')
    t.match(head.toString('latin1'), /\r\nx-request-id: mine-1(\r\n|$)/i)
  })
}

for (const path of Object.keys(COOKIE_ANSWERS)) {
  t.test(`${path}: a repeated Set-Cookie goes on as two fields`, async (t) => {
    const up = await rawUpstream(t, COOKIE_ANSWERS)
    const gw = await gateway(t, { pools: { p: { targets: [up], retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const client = rawConnection(t, Number(new URL(gw.url).port))
    await client.connected
    client.socket.write(wsHandshake(path, 'mine-2'))
    await waitFor(() => client.received().includes('\r\n\r\n'))
    const head = client.received().split('\r\n\r\n')[0]!
    t.same(head.split('\r\n').filter((l) => /^set-cookie:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim()), ['a=1', 'b=2'])
  })
}
