// An upstream that wrongly sends a body with its HEAD answer, a moment after the head (RFC 9110 §9.3.2 forbids
// it): the HEAD's connection is not reused, so those bytes never become the answer to the next request, another
// client's. (Keeping HEAD connections, as undici can be told to, gave that request a 502 or the stray bytes.)
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { httpRequest } from './http.ts'
import { gateway } from './setup.ts'

t.test('a late body after a HEAD answer does not reach the next request', async (t) => {
  const sockets = new Set<Socket>()
  let connections = 0
  const server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const method = buffered.slice(0, buffered.indexOf(' '))
        buffered = buffered.slice(end + 4)
        if (method === 'HEAD') {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n')
          // written after the gateway has the HEAD's answer, and a forgery of an answer at that
          setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n\r\nxx'), 40)
        } else {
          setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nreal!'), 100)
        }
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  const gw = await gateway(t, {
    pools: { p: { targets: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const head = await httpRequest(`${gw.url}/a`, { method: 'HEAD' })
  t.equal(head.status, 200)
  const next = await httpRequest(`${gw.url}/b`)
  t.equal(next.status, 200)
  t.equal(next.text(), 'real!', 'the next request gets its own answer')
  t.equal(connections, 2, "the HEAD's connection was not reused")
})
