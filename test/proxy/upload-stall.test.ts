// A streamed upload that goes silent for idleMs ends with 408 request_timeout; it is not the upstream's failure.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a streamed upload that stalls is answered 408 after idleMs and releases the target', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({
    pools: { p: { targets: [up.url], timeouts: { requestMs: 300, idleMs: 300 }, retry: { maxBufferBytes: 1024 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  t.teardown(async () => { await gw.close(); await up.close() })
  const runtime = gw.gateway.pools().get('p')!
  const started = Date.now()
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: new URL(gw.url).port, path: '/upload', method: 'POST', headers: { 'content-length': '65536' } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.once('error', reject)
    req.write(Buffer.alloc(2048, 'x')) // then silence
    t.teardown(() => { req.destroy() })
  })
  t.equal(res.status, 408)
  t.equal((JSON.parse(res.body) as { error: string }).error, 'request_timeout')
  t.ok(Date.now() - started < 3000, 'within a few idle periods')
  await waitFor(() => runtime.pool.targets[0]!.inFlight === 0)
  t.equal(runtime.breaker.state, 'closed', 'not counted against the upstream')
  t.equal(runtime.pool.targets[0]!.status.ejectedUntil, 0)
  const line = gw.accessLogs().find((l) => l.path === '/upload')
  t.equal(line?.error, 'request_timeout')
})
