// Every caller waiting for the tunnels to go idle is told when the last one closes, not only the latest caller:
// shutdown and a drain can both wait on the same set, and a waiter never told would hold its caller until its
// own timeout.
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { TunnelSet } from '../../src/proxy/tunnels.ts'

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
