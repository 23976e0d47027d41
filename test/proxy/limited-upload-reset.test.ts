// A size-limited chunked upload (a route with maxBodyBytes) whose client resets while the request waits in the
// target's pool for a connection: undici does not listen to the body yet, so the reset used to reach only
// pipe()'s error handler, which rethrew it, uncaught, and took the gateway down (src/proxy/body.ts).
import { request } from 'node:http'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { gateway, upstream } from './setup.ts'

t.test('a client resetting a size-limited upload queued for a connection leaves the gateway serving', async (t) => {
  const busy = await upstream(t, 'busy')
  const other = await upstream(t, 'other')
  const gw = await gateway(t, {
    pools: {
      p: { targets: [busy.url], connections: { maxPerTarget: 1 }, retry: { maxBufferBytes: 0 } },
      q: { targets: [other.url] },
    },
    routes: [{ path: '/other', pool: 'q' }, { path: '/', pool: 'p', maxBodyBytes: 10_000_000 }],
  }, { defaultMetrics: false })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!

  // the target's only connection is taken by a request its upstream never answers
  busy.mode = 'hang'
  const held = request(`${gw.url}/held`, { agent: false })
  held.on('error', () => { /* destroyed in teardown */ })
  t.teardown(() => { held.destroy() })
  held.end()
  await waitFor(() => busy.hits === 1)

  const { port } = new URL(gw.url)
  const client = rawConnection(t, Number(port))
  await client.connected
  client.socket.write('POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
  await waitFor(() => target.inFlight === 2) // dispatched, and queued in undici behind the held request
  client.socket.resetAndDestroy()
  await waitFor(() => target.inFlight === 1)
  t.equal(busy.hits, 1, 'the upload never reached the upstream')

  const after = await httpRequest(`${gw.url}/other`)
  t.equal(after.status, 200, 'the gateway still serves')
  const line = gw.accessLogs().find((l) => l.method === 'POST')
  t.ok(line, 'the reset upload is logged')
})
