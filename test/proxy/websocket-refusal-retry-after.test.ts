// A WebSocket upgrade refused 503 because its pool cannot take it says when to try again, as a refused request
// does (README's error table: no_available_target and circuit_open are "503 + Retry-After").
import t from 'tap'
import { portOf, rawHandshake } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test('no available target and an open breaker: 503 with Retry-After, for an upgrade as for a request', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('ws')!
  const check = async (label: string, error: string): Promise<void> => {
    const request = await fetch(`${gw.url}/x`)
    await request.arrayBuffer()
    const { response, socket } = await rawHandshake(portOf(gw.url), wsHandshake('/ws', `ws-${error}`))
    socket.destroy()
    t.equal(response.status, 503, `${label}: upgrade refused`)
    t.equal(response.json().error, error, `${label}: ${error}`)
    t.ok(request.headers.get('retry-after') !== null, `${label}: the request's answer has a Retry-After`)
    t.equal(response.headers['retry-after'], request.headers.get('retry-after'), `${label}: the upgrade's the same`)
  }
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
  await check('the only target disabled', 'no_available_target')
  runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: false })
  runtime.breaker.force('open')
  await check('the breaker open', 'circuit_open')
})
