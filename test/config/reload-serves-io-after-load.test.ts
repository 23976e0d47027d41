// The yield between a reload's load and its compare (src/config/reloader.ts yieldToLoop) passes a poll phase: bytes
// that reached a connection while the load blocked the loop are read before the compare begins, not only timers
// that fell due meanwhile (reload-yields-after-load.test.ts pins the timers). A yield that only waits for the next
// timers phase (a setTimeout of 0) runs the compare ahead of that I/O whenever the timer is due by then, as it is
// after the load's last step blocked past it: the requests that waited through the validation wait through the
// compare too.
import { readFile } from 'node:fs'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import { block, config } from './reload-steps.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** One reload while a client's bytes arrive: the order of the server's read, the compare and the apply. */
async function oneRun (t: Tap): Promise<string[]> {
  const order: string[] = []
  // a loopback connection whose server side notes each read
  const accepted = Promise.withResolvers<Socket>()
  const server = createServer((socket) => {
    socket.on('data', () => order.push('read'))
    accepted.resolve(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  client.on('error', () => {})
  const serverSide = await accepted.promise
  t.teardown(() => new Promise<void>((resolve) => {
    client.destroy()
    serverSide.destroy()
    server.close(() => resolve())
  }))

  let running = config(1)
  const reloader = new Reloader({
    // ends in the poll phase, as loadConfigFile does (its readFile); a request arrives while it blocks, and its last
    // step (after the reloader has taken the result) blocks past a 1 ms timer's due time
    load: () => new Promise((resolve) => {
      readFile(import.meta.filename, () => {
        client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
        block(5)
        resolve(config(2))
        queueMicrotask(() => block(5))
      })
    }),
    apply: (next) => { order.push('apply'); running = next },
    current: () => { order.push('compare'); return running },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  return order
}

t.test('bytes that arrived during the load are read before the compare begins', async (t) => {
  // On a host loaded past its cores the kernel may hand the bytes over only after the load, so up to three runs; a
  // yield that passes no poll phase fails every one
  let order: string[] = []
  for (let run = 0; run < 3 && order[0] !== 'read'; run++) order = await oneRun(t)
  t.equal(order[0], 'read', 'the bytes were read between the load and the compare')
  t.ok(order.indexOf('compare') < order.indexOf('apply'))
})
