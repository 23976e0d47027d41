// The tunnels are idle only once the last open tunnel has closed: shutdown waits on idle() before it closes what is
// left, so an idle() that resolved when the first of several tunnels closed would cut the others at once instead of
// giving them shutdown.timeoutMs.
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { TunnelSet } from '../../src/proxy/tunnels.ts'

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
