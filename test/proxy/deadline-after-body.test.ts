// timeouts.requestMs bounds the client's sending of a buffered body, and then, afresh, the upstream's answer: a
// slow client used to eat into the upstream's time, and the gateway answered 504 and blamed a healthy target.
import { request } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('the upstream\'s deadline starts once the body is held', async (t) => {
  const upstream = await TestUpstream.start()
  upstream.delayMs = 500
  const gw = await startGateway({ pools: { p: { targets: [upstream.url], timeouts: { requestMs: 800 }, retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await upstream.close() })
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/x`, { method: 'PUT', headers: { 'content-length': '100' }, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.write('a'.repeat(50))
    // the body completes after 500 ms of the 800: the upstream's 500 ms would overrun a deadline counted from the start
    setTimeout(() => req.end('a'.repeat(50)), 500)
  })
  t.equal(status, 200)
  t.equal([...gw.gateway.pools().get('p')!.pool.targets][0]!.failures, 0, 'no failure counted against the target')
})
