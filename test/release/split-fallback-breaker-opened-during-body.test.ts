// A split read with a body (a POST in reads.methods) is sent to the replicas when its headers arrive, their breaker
// closed; while its body is still being read the replicas' breaker opens. Once the body is in, the replicas' breaker
// refuses it: the read falls back to the primary (which has the data too), as every other replica refusal does,
// instead of failing 503 circuit_open. Pins src/proxy/forward.ts #circuitOpen:
// `if (!this.#fallBack(ex, undefined)) this.#sendError(ex, 'circuit_open', ...)`.
import { request } from 'node:http'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test('a read whose replicas\' breaker opened while its body arrived is served by the primary', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { resetTimeoutMs: 60_000 } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const breaker = gw.gateway.pools().get('replicas')!.breaker

  const body = '{"query":"a read with a body"}'
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${gw.url}/m/search`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => resolve({ status: res.statusCode!, text }))
    })
    req.on('error', reject)
    req.flushHeaders()
    // admitted (routed to the replicas) once the gateway counts it in flight; only then the breaker opens
    waitFor(() => gw.gateway.proxy.active === 1).then(() => {
      breaker.force('open')
      req.end(body)
    }, reject)
  })
  const res = await answer
  t.equal(res.status, 200, 'not 503 circuit_open')
  t.equal(JSON.parse(res.text).name, 'primary', 'the primary served the read')
  t.equal(replica.hits, 0, 'no replica was tried')
  t.equal(primary.hits, 1)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.match(gw.accessLogs().find((l) => l.path === '/m/search'), { status: 200 })
})
