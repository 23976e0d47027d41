// A WebSocket client that leaves while its handshake waits for the upstream's 101 is never counted as an open
// tunnel when that 101 arrives: shutdown waits for open tunnels (up to shutdown.timeoutMs), so a tunnel counted for
// a socket already gone would hold every shutdown to its full timeout, and the tunnel gauge would never come down.
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { TunnelSet } from '../../src/proxy/tunnels.ts'

t.test('opened() after the client socket closed counts nothing, and idle() resolves at once', async (t) => {
  const tunnels = new TunnelSet()
  const socket = new PassThrough()
  tunnels.take(socket)
  socket.destroy()
  await once(socket, 'close')
  tunnels.opened(socket) // the 101 arrives after the client left
  t.equal(tunnels.open, 0, 'no tunnel open')
  let idle = false
  void tunnels.idle().then(() => { idle = true })
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.equal(idle, true, 'shutdown has no tunnel to wait for')
})
