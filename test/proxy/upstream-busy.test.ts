// Requests that time out while queued for one of the target's connections (all open, all busy) were never
// written to the upstream: each is answered 503 upstream_busy, and neither the breaker nor outlier detection
// counts them, however strict they are. Once a connection comes free the pool serves normally.
import { request } from 'node:http'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, holdOnlyConnection, upstream } from './setup.ts'

function get (url: string, requestId: string): Promise<{ status: number; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { 'x-request-id': requestId } }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.once('end', () => {
        const json = res.headers['content-type']?.startsWith('application/json') === true ? JSON.parse(text) as { error?: string } : {}
        resolve({ status: res.statusCode ?? 0, error: json.error })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

t.test('timeouts while queued for a busy connection are 503 upstream_busy and count against nobody', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [u.url],
        connections: { maxPerTarget: 1 },
        retry: { attempts: 1, maxBufferBytes: 16 },
        timeouts: { requestMs: 300 },
        // one counted failure would eject the target or open the breaker
        outlier: { consecutiveFailures: 1 },
        circuitBreaker: { volumeThreshold: 1, errorThresholdPercentage: 1 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const runtime = gw.gateway.pools().get('p')!
  const target = runtime.pool.targets[0]!
  let seen = 0 // every request the upstream starts to receive
  u.server.on('request', () => { seen++ })
  // hold the only connection: a streamed upload past the buffer size whose upstream waits for its end
  u.mode = 'hang'
  const holder = await holdOnlyConnection(t, gw.url, target, () => seen === 1)

  const answers = []
  for (let i = 0; i < 3; i++) answers.push(await get(`${gw.url}/q${i}`, `busy-${i}`))
  t.strictSame(answers.map((a) => [a.status, a.error]), [[503, 'upstream_busy'], [503, 'upstream_busy'], [503, 'upstream_busy']])
  t.equal(seen, 1, 'none of them reached the upstream')
  t.equal(target.failures, 0, 'no failure counted against the target')
  t.equal(runtime.pool.status(target).ejectedUntil, 0, 'not ejected')
  t.equal(runtime.breaker.state, 'closed', 'the breaker stayed closed')

  holder.release()
  u.mode = 'answer'
  await waitFor(() => target.inFlight === 0)
  const after = await get(`${gw.url}/after`, 'after')
  t.equal(after.status, 200, 'served once a connection is free')
})
