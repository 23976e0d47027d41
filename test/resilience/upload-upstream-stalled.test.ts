// A streamed upload that stops moving is blamed on whoever stopped it. An upstream that accepts the connection but
// never reads the body (nor answers) stops undici reading the client's body, and the client's bytes wait unread:
// that is the upstream's timeout (504 upstream_timeout, counted by outlier detection and the breaker). It was
// answered 408 request_timeout, as if the client had gone silent. A client that stops sending is still a 408.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

async function setup (t: Tap): Promise<{ gw: TestGateway; hits: () => number }> {
  let hits = 0
  const { url: upstream } = await serveOnLoopback(t, (req) => {
    hits++
    req.pause() // never reads, never answers
  })
  const gw = await startGateway({
    pools: { api: { targets: [upstream], retry: { attempts: 1 }, timeouts: { clientIdleMs: 500 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return { gw, hits: () => hits }
}

/** Sends a PUT declaring `size` bytes: all of them as fast as the gateway takes them, or `first` and then nothing. */
function upload (url: string, size: number, first?: number): Promise<{ status: number; error: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: '/blob', headers: { 'content-length': String(size) } })
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => {
        resolve({ status: res.statusCode!, error: (JSON.parse(body) as { error: string }).error })
        req.destroy()
      })
    })
    if (first !== undefined) return void req.write(Buffer.alloc(first, 7))
    const chunk = Buffer.alloc(64 * 1024, 7)
    let sent = 0
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

t.test('an upstream that stops reading the upload: 504 upstream_timeout, counted against the target', async (t) => {
  const { gw } = await setup(t)
  const answer = await upload(gw.url, 64 * 1024 * 1024)
  t.strictSame(answer, { status: 504, error: 'upstream_timeout' })
  const target = gw.gateway.pools().get('api')!.pool.targets[0]!
  t.equal(target.failures, 1, "the target's failure")
})

t.test('a client that stops sending: 408 request_timeout, not counted against the target', async (t) => {
  const { gw, hits } = await setup(t)
  const answer = await upload(gw.url, 1024 * 1024, 128 * 1024)
  t.strictSame(answer, { status: 408, error: 'request_timeout' })
  t.equal(hits(), 1)
  t.equal(gw.gateway.pools().get('api')!.pool.targets[0]!.failures, 0)
})
