// A request refused 503 pool_busy has its connection closed after the answer (src/proxy/forward.ts #refuseBusy, review
// r43j), and the client reads the whole answer before a clean close, never a reset, however the request came: no body,
// a small body, a large body sent at once or a chunked one still arriving (read and dropped before the close: closed
// with it unread, Linux resets the connection and the client's kernel drops the answer), Expect: 100-continue (no
// 100, the body sent anyway), requests pipelined behind it (never answered), an HTTP/1.0 keep-alive client. The client
// reads nothing until the gateway has answered and closed, as a slow client would. The refusal takes no place. (Kept
// alive, each client of a pool of stuck targets held a listener slot for the whole keep-alive time, and a few thousand
// took every slot server.maxConnections allows, refusing the other pools' clients.)
import { Agent, request } from 'node:http'
import type { Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { gateway, type Tap, upstream } from './setup.ts'

/** Pool a held full (maxRequests 1) by one parked request; pool b beside it, healthy. */
async function busyGateway (t: Tap) {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  a.mode = 'hang'
  const config: GatewayConfig = {
    pools: {
      a: { targets: [a.url], connections: { maxRequests: 1 }, timeouts: { requestMs: 5000 }, retry: { attempts: 1 } },
      b: { targets: [b.url] },
    },
    routes: [{ path: '/a', pool: 'a' }, { path: '/b', pool: 'b' }],
  }
  const gw = await gateway(t, config, { defaultMetrics: false })
  const parked = request(`${gw.url}/a/parked`, { agent: false })
  parked.on('error', () => { /* destroyed at the end */ })
  t.teardown(() => { parked.destroy() })
  parked.end()
  const active = () => gw.gateway.pools().get('a')!.budget.active
  await waitFor(() => active() === 1 && a.hits === 1)
  return { gw, port: Number(new URL(gw.url).port), active, a }
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
function whole (t: Tap, got: string, label: string): void {
  const m = /^HTTP\/1\.[01] 503[^]*?\r\n\r\n/.exec(got)
  t.ok(m, `${label}: a 503 head`)
  if (!m) { t.comment(JSON.stringify(got.slice(0, 300))); return }
  const len = Number(/content-length: (\d+)/i.exec(m[0])?.[1])
  t.equal(got.length - m[0].length, len, `${label}: whole body (${got.length - m[0].length}/${len})`)
  t.match(m[0], /connection: close/i, `${label}: connection close`)
  t.match(got, /pool_busy/, `${label}: pool_busy`)
  t.equal((got.match(/HTTP\/1/g) ?? []).length, 1, `${label}: one answer only`)
}

const cases: Array<[string, (s: Socket) => Promise<void>]> = [
  ['bodiless GET', async (s) => { s.write('GET /a/x HTTP/1.1\r\nHost: h\r\n\r\n') }],
  ['GET + pipelined GETs', async (s) => { s.write('GET /a/x HTTP/1.1\r\nHost: h\r\n\r\n' + 'GET /a/y HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(50)) }],
  ['GET + pipelined big POST', async (s) => { s.write('GET /a/x HTTP/1.1\r\nHost: h\r\n\r\nPOST /a/y HTTP/1.1\r\nHost: h\r\nContent-Length: 4000000\r\n\r\n'); s.write(Buffer.alloc(4_000_000, 97)) }],
  ['GET then writes later', async (s) => { s.write('GET /a/x HTTP/1.1\r\nHost: h\r\n\r\n'); await sleep(100); if (!s.destroyed) s.write('GET /a/y HTTP/1.1\r\nHost: h\r\n\r\n') }],
  ['small POST complete', async (s) => { s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello') }],
  ['small POST complete + pipelined', async (s) => { s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello' + 'GET /a/y HTTP/1.1\r\nHost: h\r\n\r\n'.repeat(20)) }],
  ['POST head then body split', async (s) => { s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n'); await sleep(50); s.write('hello') }],
  ['big POST 8MB at once', async (s) => { s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 8000000\r\n\r\n'); s.write(Buffer.alloc(8_000_000, 97)) }],
  ['chunked still arriving', async (s) => {
    s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
    for (let i = 0; i < 10; i++) { await sleep(30); s.write('4000\r\n' + 'a'.repeat(0x4000) + '\r\n') }
    s.write('0\r\n\r\n')
  }],
  ['expect 100-continue, body after 200ms', async (s) => {
    s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n')
    await sleep(200); if (!s.destroyed) s.write(Buffer.alloc(1_000_000, 97))
  }],
  ['expect 100-continue, body at once', async (s) => {
    s.write('POST /a/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n')
    s.write(Buffer.alloc(1_000_000, 97))
  }],
  ['HTTP/1.0 keep-alive', async (s) => { s.write('GET /a/x HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n') }],
  ['HTTP/1.0 keep-alive POST', async (s) => { s.write('POST /a/x HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc') }],
]

// one gateway, its pool held full by one parked request; the cases at once (each waits half a second before reading)
t.test('every way of being refused pool_busy gets the whole answer, then a clean close', async (t) => {
  const { port, active } = await busyGateway(t)
  const outcomes = await Promise.all(cases.map(async ([label, send]) => {
    const c = rawConnection(t, port)
    await c.connected
    // do not read until the answer has had time to arrive and the close to happen
    c.socket.pause()
    await send(c.socket)
    await sleep(500)
    c.socket.resume()
    await Promise.race([c.closed, sleep(3000)])
    return { label, closed: c.isClosed(), error: c.error(), received: c.received() }
  }))
  for (const { label, closed, error, received } of outcomes) {
    t.ok(closed, `${label}: closed`)
    t.equal(error, undefined, `${label}: no reset`)
    whole(t, received, label)
  }
  t.equal(active(), 1, 'the refusals took no place')
})

interface Answer { status: number; error: string | undefined; connection: string | undefined; reused: boolean }

function get (url: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString()
        const error = res.statusCode === 503 ? (JSON.parse(text) as { error?: string }).error : undefined
        resolve({ status: res.statusCode ?? 0, error, connection: res.headers.connection, reused: req.reusedSocket })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

// AY14 (r43h) pinned the keep-alive this replaced: a keep-alive client's next request goes on a new connection, served
t.test('a keep-alive client refused pool_busy sends its next request on a new connection, and is served', async (t) => {
  const { gw, active } = await busyGateway(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const refused = await get(`${gw.url}/a/more`, agent)
  t.equal(refused.status, 503)
  t.equal(refused.error, 'pool_busy')
  t.equal(refused.connection, 'close', 'the refusal closes the connection')
  const next = await get(`${gw.url}/b/next`, agent)
  t.equal(next.status, 200)
  t.equal(next.reused, false, 'the next request went on a new connection')
  t.equal(active(), 1, 'the refusal took no place')
})
