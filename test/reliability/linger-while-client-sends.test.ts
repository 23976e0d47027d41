// A lingering close (a refused upgrade, an answer that closes the connection before the body was all read) reads and
// drops what the client still sends, and cuts the connection once the client has been silent for a second (nginx's
// lingering_timeout), not a second after the answer however much the client is still sending: on a loaded host a
// large body still on its way was cut mid-send, the connection reset and the client got EPIPE (the clean-clone CI of
// the grouped suite showed it in two tests that send 32 MiB). Capped at 5 s in all (nginx's lingering_time, 30 s there).
// (src/proxy/raw-response.ts endAndLinger.)
import { connect } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, upstream } from '../proxy/setup.ts'

const handshake = ['GET /ws HTTP/1.1', 'Host: chat.example', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', '', ''].join('\r\n')

for (const keepsSending of [true, false]) {
  t.test(keepsSending ? 'a client that sends on for 2.5 s after a refusal is read to its end, and the connection ends cleanly' : 'a silent client that keeps its half open is cut after a second', async (t) => {
    const ws = await upstream(t, 'ws')
    const gw = await gateway(t, { pools: { ws: { targets: [ws.url] } }, routes: [{ path: '/ws', pool: 'ws' }] }, { defaultMetrics: false })
    const client = connect({ port: Number(new URL(gw.url).port), host: '127.0.0.1', allowHalfOpen: true })
    t.teardown(() => client.destroy())
    let received = ''
    let error: string | undefined
    client.on('data', (d: Buffer) => { received += d.toString('latin1') })
    client.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())))
    client.write(handshake)
    await waitFor(() => /"error":"bad_request"/.test(received))
    const refusedAt = performance.now()
    if (keepsSending) {
      // a chunk every 250 ms: never a second's silence, for longer than a second
      for (let i = 0; i < 10; i++) {
        client.write(Buffer.alloc(16 * 1024, 'z'))
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      client.end()
      const at = await closed
      t.equal(error, undefined, 'all of it was taken: closed, not reset')
      t.ok(at - refusedAt >= 2400, `not cut while it was sending (${Math.round(at - refusedAt)} ms)`)
    } else {
      // the client cannot see the cut (the gateway's FIN came with the answer): the gateway's connection count can
      const connections = (): Promise<number> => new Promise((resolve, reject) => gw.gateway.app.server.getConnections((err, n) => err ? reject(err) : resolve(n)))
      await waitFor(async () => (await connections()) === 0, 5000)
      t.ok(performance.now() - refusedAt < 3000, `cut after about a second of silence (${Math.round(performance.now() - refusedAt)} ms)`)
    }
  })
}
