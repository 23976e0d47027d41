// A streamed upload that goes silent for clientIdleMs ends with 408 request_timeout; it is not the upstream's
// failure. The gateway runs on a manual clock, so the test decides when the silence has lasted long enough.
import { request } from 'node:http'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a streamed upload that stalls is answered 408 after clientIdleMs and releases the target', async (t) => {
  const up = await TestUpstream.start()
  const clock = new ManualClock()
  const gw = await startGateway({
    pools: { p: { targets: [up.url], timeouts: { requestMs: 300, clientIdleMs: 500 }, retry: { maxBufferBytes: 1024 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { clock })
  let client: ReturnType<typeof request> | undefined
  // the client's upload never finishes: it goes first, or the server would wait for it on close
  t.teardown(async () => { client?.destroy(); await gw.close(); await up.close() })
  const runtime = gw.gateway.pools().get('p')!
  // bytes of the upload that reached the upstream: the clock moves only once all that was sent has passed through,
  // or a late chunk would restart the silence timer after the test moved the clock
  let received = 0
  up.server.on('request', (req) => { req.on('data', (chunk: Buffer) => { received += chunk.length }) })
  let answered = false
  const res = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: new URL(gw.url).port, path: '/upload', method: 'POST', headers: { 'content-length': '65536' } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { answered = true; resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.once('error', reject)
    req.write(Buffer.alloc(2048, 'x')) // then silence
    client = req
  })
  // the attempt is under way and its only timer is the upload's silence timer
  await waitFor(() => received === 2048 && clock.pendingTimers === 1)
  clock.advance(499)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(answered, false, 'not before clientIdleMs, and requestMs (300) does not run while the upload is still arriving')
  clock.advance(1)
  const { status, body } = await res
  t.equal(status, 408)
  t.equal((JSON.parse(body) as { error: string }).error, 'request_timeout')
  await waitFor(() => runtime.pool.targets[0]!.inFlight === 0)
  t.equal(runtime.breaker.state, 'closed', 'not counted against the upstream')
  t.equal(runtime.pool.status(runtime.pool.targets[0]!).ejectedUntil, 0)
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/upload'))
  t.equal(gw.accessLogs().find((l) => l.path === '/upload')?.error, 'request_timeout')
})
