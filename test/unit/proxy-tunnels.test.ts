// The open-tunnel count shutdown waits on (src/proxy/tunnels.ts): what it counts and when idle() resolves.
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { TunnelSet } from '../../src/proxy/tunnels.ts'

// A WebSocket client that leaves while its handshake waits for the upstream's 101 is never counted as an open
// tunnel when that 101 arrives: shutdown waits for open tunnels (up to shutdown.timeoutMs), so a tunnel counted for
// a socket already gone would hold every shutdown to its full timeout, and the tunnel gauge would never come down.
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

// The tunnels are idle only once the last open tunnel has closed: shutdown waits on idle() before it closes what is
// left, so an idle() that resolved when the first of several tunnels closed would cut the others at once instead of
// giving them shutdown.timeoutMs.
t.test('idle() waits for every open tunnel, not the first to close', async (t) => {
  const tunnels = new TunnelSet()
  const a = new PassThrough()
  const b = new PassThrough()
  for (const s of [a, b]) { tunnels.take(s); tunnels.opened(s) }
  let idle = false
  void tunnels.idle().then(() => { idle = true })
  a.destroy()
  await once(a, 'close')
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.equal(tunnels.open, 1)
  t.equal(idle, false, 'one tunnel still open')
  b.destroy()
  await once(b, 'close')
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.equal(idle, true, 'idle once the last one closed')
})

// Every caller waiting for the tunnels to go idle is told when the last one closes, not only the latest caller:
// shutdown and a drain can both wait on the same set, and a waiter never told would hold its caller until its
// own timeout.
t.test('two idle() waiters both resolve when the last tunnel closes', async (t) => {
  const tunnels = new TunnelSet()
  const socket = new PassThrough()
  tunnels.take(socket)
  tunnels.opened(socket)
  t.equal(tunnels.open, 1)
  const resolved: string[] = []
  const first = tunnels.idle().then(() => { resolved.push('first') })
  const second = tunnels.idle().then(() => { resolved.push('second') })
  socket.destroy()
  await once(socket, 'close')
  await Promise.race([Promise.all([first, second]), new Promise<void>((resolve) => setImmediate(resolve))])
  t.strictSame(resolved.sort(), ['first', 'second'], 'both waiters were told')
})
