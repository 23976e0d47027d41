// An answer without a body (to HEAD, a 204, a 304) may carry the Transfer-Encoding its GET would have had, codings
// other than chunked included (RFC 9112 §6.1): no coded bytes follow, so there is nothing left undone to refuse. It
// is forwarded without the field (hop-by-hop), and neither the target nor the breaker counts it as a failure.
import t from 'tap'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

async function setup (t: Tap, answer: string) {
  const u = await ScriptedUpstream.start((socket) => { socket.write(answer) })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  return { u, gw, runtime }
}

const CASES = [
  { name: 'HEAD answered with Transfer-Encoding: gzip, chunked', method: 'HEAD', status: 200, answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' },
  { name: 'HEAD answered with Transfer-Encoding: gzip', method: 'HEAD', status: 200, answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n' },
  { name: 'a 304 with Transfer-Encoding: gzip, chunked', method: 'GET', status: 304, answer: 'HTTP/1.1 304 Not Modified\r\nETag: "e1"\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' },
  { name: 'a 204 with Transfer-Encoding: gzip, chunked', method: 'GET', status: 204, answer: 'HTTP/1.1 204 No Content\r\nETag: "e1"\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' },
] as const

for (const c of CASES) {
  t.test(`${c.name} is forwarded, not refused (RFC 9112 §6.1)`, async (t) => {
    const { u, gw, runtime } = await setup(t, c.answer)
    const res = await httpRequest(`${gw.url}/x`, { method: c.method, headers: { 'if-none-match': '"e1"' } })
    t.equal(res.status, c.status, "the upstream's status, not 502")
    t.equal(res.headers['transfer-encoding'], undefined, 'the hop-by-hop field is dropped')
    t.equal(res.body.length, 0)
    t.equal(u.requests, 1, 'answered by the first attempt')
    t.equal(runtime.pool.targets[0]!.failures, 0, 'no failure of the target')
  })
}

t.test('twenty such HEAD answers leave the breaker closed and the pool serving', async (t) => {
  const { gw, runtime } = await setup(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')
  // the breaker's default volumeThreshold is 20: twenty failures would open it
  for (let i = 0; i < 20; i++) t.equal((await httpRequest(`${gw.url}/x`, { method: 'HEAD' })).status, 200)
  t.equal(runtime.breaker.state, 'closed')
  t.equal(runtime.pool.targets[0]!.failures, 0)
})
