// A lingering close reads what the client still sends for at most LINGER_MAX_MS (5 s) after the answer, however the
// client keeps sending: a client that trickles a few bytes every 250 ms, never silent for the second that ends a
// linger (LINGER_MS), is cut at the cap, not held for as long as it trickles (nginx's lingering_time; src/proxy/
// raw-response.ts endAndLinger: "cut ... LINGER_MAX_MS after the answer whatever it sends"). Without the cap, a
// client could hold a refused connection, and its file descriptor, for ever at a few bytes a second.
// (The other side, a client sending for 2.5 s that is not cut, is test/reliability/linger-while-client-sends.test.ts.)
import { connect } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from '../proxy/setup.ts'

// no Sec-WebSocket-Key: refused 400 bad_request, and the connection lingers
const handshake = ['GET /ws HTTP/1.1', 'Host: chat.example', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', '', ''].join('\r\n')
// the documented cap (docs/reliability.md: "until it has been silent 1 s, 5 s at most"), not read from the code
const LINGER_MAX_MS = 5000
const GIVE_UP_MS = LINGER_MAX_MS + 3000

t.test('a client that trickles bytes after a refusal is cut at LINGER_MAX_MS', async (t) => {
  const ws = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] }, { defaultMetrics: false })
  const client = connect({ port: Number(new URL(gw.url).port), host: '127.0.0.1', allowHalfOpen: true })
  t.teardown(() => client.destroy())
  let received = ''
  client.on('data', (d: Buffer) => { received += d.toString('latin1') })
  client.on('error', () => {})
  client.write(handshake)
  await waitFor(() => /"error":"bad_request"/.test(received))
  const refusedAt = performance.now()
  const connections = (): Promise<number> => new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
  let cutAt: number | undefined
  while (performance.now() - refusedAt < GIVE_UP_MS) {
    if ((await connections()) === 0) {
      cutAt = performance.now() - refusedAt
      break
    }
    if (!client.destroyed) client.write('z'.repeat(64))
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  t.ok(cutAt !== undefined, `cut while the client still trickled (waited ${GIVE_UP_MS} ms)`)
  t.ok(cutAt! >= LINGER_MAX_MS - 1000, `not before the cap's time (${Math.round(cutAt ?? -1)} ms)`)
  t.ok(cutAt! < LINGER_MAX_MS + 1500, `at about the cap (${Math.round(cutAt ?? -1)} ms)`)
})
