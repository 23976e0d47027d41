// A client that pipelines requests behind one still being answered is not read without bound: while requests wait
// their turn the connection is not read on, so what the gateway holds is about one read (64 KiB) of requests, not
// all the client sent. Every request is still answered, in order, once the first answer goes out.
import { createServer, type ServerResponse } from 'node:http'
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { MAX_WAITING, requestTakesTurn, requestWaits } from '../../src/proxy/pipelining.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'

const PIPELINED = 2000
// ~240 bytes a request: one 64 KiB read holds ~270 of them
const PADDING = 'x'.repeat(200)

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** An upstream that holds /hold until released and answers anything else with its path and body length. */
async function upstream (t: Tap): Promise<{ url: string; seen: () => number; held: () => ServerResponse | undefined }> {
  let held: ServerResponse | undefined
  let seen = 0
  const server = createServer((req, res) => {
    seen++
    let length = 0
    req.on('data', (chunk: Buffer) => { length += chunk.length })
    req.on('end', () => {
      if (req.url === '/hold') held = res
      else if (req.url?.startsWith('/empty') === true) res.writeHead(204).end()
      else if (req.url === '/slow') setTimeout(() => res.end('/slow'), 200)
      else res.end(req.method === 'POST' ? `${req.url}:${length}` : req.url)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen, held: () => held }
}

t.test(`${PIPELINED} requests pipelined behind an unanswered one: read about one chunk ahead, then all answered in order`, async (t) => {
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())

  const c = rawConnection(t, Number(new URL(gw.url).port))
  let bytes = 'GET /hold HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 1; i <= PIPELINED; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: gw\r\nX-Padding: ${PADDING}\r\n\r\n`
  c.socket.write(bytes)
  await waitFor(() => u.held() !== undefined)
  // time for a gateway that reads on to take in everything the client sent
  await new Promise((resolve) => setTimeout(resolve, 300))
  const parsed = gw.gateway.proxy.active
  t.ok(parsed < PIPELINED / 2, `requests taken in while the first waits: ${parsed}, about one read's worth, not all ${PIPELINED + 1}`)
  t.equal(u.seen(), 1, 'none of them sent upstream yet')

  u.held()!.end('/hold')
  const answers = (): number => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length
  await waitFor(() => answers() === PIPELINED + 1, 30_000)
  const bodies = c.received().match(/\r\n\r\n\/(hold|r\d+)/g)!.map((b) => b.slice(4))
  t.equal(bodies.length, PIPELINED + 1)
  t.ok(bodies.every((b, i) => b === (i === 0 ? '/hold' : `/r${i}`)), 'every request answered, in order')
  t.equal(u.seen(), PIPELINED + 1)
})

t.test('pipelined POSTs whose bodies span many reads: each body arrives whole when its request gets its turn', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  const size = 300 * 1024
  c.socket.write('GET /hold HTTP/1.1\r\nHost: gw\r\n\r\n')
  for (let i = 1; i <= 4; i++) {
    c.socket.write(`POST /p${i} HTTP/1.1\r\nHost: gw\r\nContent-Length: ${size}\r\n\r\n`)
    c.socket.write(Buffer.alloc(size, 97))
  }
  await waitFor(() => u.held() !== undefined)
  await new Promise((resolve) => setTimeout(resolve, 200))
  u.held()!.end('/hold')
  await waitFor(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === 5, 10_000)
  const bodies = c.received().match(/\r\n\r\n\/[^H]*/g)!.map((b) => b.slice(4))
  t.same(bodies, ['/hold', `/p1:${size}`, `/p2:${size}`, `/p3:${size}`, `/p4:${size}`], 'each body whole, in order')
})

t.test('a client that closes its connection while a pipelined request waits is seen at once: the request in flight is aborted', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  c.socket.write('GET /hold HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => u.held() !== undefined)
  await waitFor(() => gw.gateway.proxy.active === 2)
  c.socket.end()
  await waitFor(() => gw.gateway.proxy.active === 0, 2000)
  t.equal(gw.gateway.proxy.active, 0, 'both requests ended, long before the held one would time out')
  const held = u.held()!
  await waitFor(() => held.destroyed || held.socket?.destroyed !== false, 2000)
  t.pass('the upstream request was aborted')
})

t.test('an answer written while many pipelined requests wait does not let the connection be read on without bound', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  // /slow is answered after 200 ms, while /hold and the rest wait; its answer's bytes leaving made Node resume the connection
  let bytes = 'GET /slow HTTP/1.1\r\nHost: gw\r\n\r\nGET /hold HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 1; i <= PIPELINED; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: gw\r\nX-Padding: ${PADDING}\r\n\r\n`
  c.socket.write(bytes)
  await waitFor(() => u.held() !== undefined)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const parsed = gw.gateway.proxy.active
  t.ok(parsed < PIPELINED / 2, `requests taken in while /hold is answered: ${parsed}, not all ${PIPELINED + 1}`)
  u.held()!.end('/hold')
  await waitFor(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === PIPELINED + 2, 30_000)
  t.equal(u.seen(), PIPELINED + 2, 'every request answered')
})

t.test('requests pipelined faster than they are answered: what waits stays about one read, however many answers go out', async (t) => {
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  let bytes = 'GET /slow HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 1; i <= PIPELINED; i++) bytes += `GET /r${i} HTTP/1.1\r\nHost: gw\r\nX-Padding: ${PADDING}\r\n\r\n`
  c.socket.write(bytes)
  let most = 0
  const sampler = setInterval(() => { most = Math.max(most, gw.gateway.proxy.active) }, 2)
  t.teardown(() => clearInterval(sampler))
  await waitFor(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === PIPELINED + 1, 30_000)
  clearInterval(sampler)
  t.ok(most < PIPELINED / 2, `most requests taken in at once: ${most}, not all ${PIPELINED + 1}`)
  t.equal(u.seen(), PIPELINED + 1, 'every request answered')
})

t.test('bodiless answers to requests pipelined past the limit: the connection is read again and every request answered', async (t) => {
  // An answer with no body is written by Node without the step that resumes a parser paused for backpressure
  // (socketOnDrain), so the gateway must resume the parser it paused itself, or the rest is never parsed.
  const u = await upstream(t)
  const gw = await startGateway({ pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const c = rawConnection(t, Number(new URL(gw.url).port))
  const count = 1000
  let bytes = 'GET /hold HTTP/1.1\r\nHost: gw\r\n\r\n'
  for (let i = 1; i <= count; i++) bytes += `GET /empty${i} HTTP/1.1\r\nHost: gw\r\nX-Padding: ${PADDING}\r\n\r\n`
  c.socket.write(bytes)
  await waitFor(() => u.held() !== undefined)
  u.held()!.writeHead(204).end()
  const answers = (): number => (c.received().match(/HTTP\/1\.1 204/g) ?? []).length
  await waitFor(() => answers() === count + 1, 10_000).catch(() => {})
  t.equal(answers(), count + 1, 'every request answered')
  t.equal(u.seen(), count + 1)
})

t.test(`a connection held past ${MAX_WAITING} waiting requests is read again only once half of them or fewer wait`, async (t) => {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  const socket = await accepted
  t.teardown(() => { client.destroy(); socket.destroy(); server.close() })

  for (let i = 0; i < MAX_WAITING; i++) requestWaits(socket)
  t.notOk(socket.isPaused(), `read on while ${MAX_WAITING} wait`)
  requestWaits(socket)
  t.ok(socket.isPaused(), `not read once ${MAX_WAITING + 1} wait`)
  let waiting = MAX_WAITING + 1
  while (socket.isPaused() && waiting > 0) {
    requestTakesTurn(socket)
    waiting--
  }
  t.equal(waiting, MAX_WAITING / 2, 'read again at the turn that leaves half of them waiting, not before')
})
