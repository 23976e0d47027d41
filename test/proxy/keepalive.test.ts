// Upstream connections are kept alive and reused, within connections.maxPerTarget;
// client connections to the gateway are kept alive too.
import { Agent } from 'node:http'
import t from 'tap'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

function countConnections (u: TestUpstream): { readonly count: number } {
  const counter = { count: 0 }
  u.server.on('connection', () => { counter.count++ })
  return counter
}

t.test('sequential requests reuse one upstream connection', async (t) => {
  const u = await upstream(t, 'u')
  const connections = countConnections(u)
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })

  for (let i = 0; i < 50; i++) {
    const res = await httpRequest(`${gw.url}/seq/${i}`, i % 2 === 0 ? {} : { method: 'POST', body: `body ${i}` })
    t.equal(res.status, 200)
  }
  t.equal(u.hits, 50)
  t.ok(connections.count <= 2, `50 sequential requests used ${connections.count} upstream connection(s)`)

  // a download read to the end leaves its connection reusable too
  const before = connections.count
  for (let i = 0; i < 5; i++) t.equal((await httpRequest(`${gw.url}/dl?bytes=${256 * 1024}`)).body.length, 256 * 1024)
  t.equal(connections.count, before, 'downloads reuse the same connection')
})

t.test('concurrent requests open at most connections.maxPerTarget', async (t) => {
  const u = await upstream(t, 'u')
  u.delayMs = 20
  const connections = countConnections(u)
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], connections: { maxPerTarget: 4 } } },
    routes: [{ path: '/', pool: 'p' }],
  })

  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => httpRequest(`${gw.url}/c/${round}/${i}`)))
    t.ok(answers.every((a) => a.status === 200), `round ${round}: every request answered`)
  }
  t.equal(u.hits, 60)
  t.ok(connections.count <= 4, `60 requests, 20 at a time, used ${connections.count} upstream connections (max 4)`)
  t.ok(connections.count >= 1)
})

t.test('client connections to the gateway are kept alive', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/ka', pool: 'p' }] })
  let clientConnections = 0
  gw.gateway.app.server.on('connection', () => { clientConnections++ })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())

  for (let i = 0; i < 10; i++) {
    const res = await httpRequest(`${gw.url}/ka/${i}`, { agent })
    t.equal(res.status, 200)
  }
  t.equal(clientConnections, 1, 'one client connection carried every request')
})

t.test('an error answered for a request without a body keeps the client connection', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/ka', pool: 'p' }] })
  let clientConnections = 0
  gw.gateway.app.server.on('connection', () => { clientConnections++ })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())

  t.equal((await httpRequest(`${gw.url}/ka/before`, { agent })).status, 200)
  const miss = await httpRequest(`${gw.url}/missing`, { agent })
  t.equal(miss.status, 404)
  t.not(miss.headers.connection, 'close', 'a bodyless request leaves nothing unread: no reason to close')
  t.equal((await httpRequest(`${gw.url}/ka/after`, { agent })).status, 200)
  t.equal(clientConnections, 1, 'the connection outlives the error')
})
