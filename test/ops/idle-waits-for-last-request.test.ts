// Shutdown waits for every request in flight (docs: shutdown.timeoutMs is "the longest time in-flight requests
// get"): ProxyHandler.idle(), which the shutdown awaits (src/lifecycle/shutdown.ts), resolves only once the LAST
// request in flight has ended, not when one of two is left. Pins src/proxy/forward.ts #finish:
// `if (--this.#active === 0 && this.#onIdle !== undefined)`.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway } from '../proxy/setup.ts'

t.test('idle() stays pending while one of two requests is still in flight', async (t) => {
  // an upstream that answers only when told, so both requests are in flight at once
  const held: ServerResponse[] = []
  const up = createServer((req, res) => { req.resume(); req.once('end', () => held.push(res)) })
  await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { up.closeAllConnections(); up.close(() => resolve()) }))
  const gw = await gateway(t, {
    pools: { p: { targets: [`http://127.0.0.1:${(up.address() as AddressInfo).port}`] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const proxy = gw.gateway.proxy

  const first = httpRequest(`${gw.url}/a`)
  const second = httpRequest(`${gw.url}/b`)
  await waitFor(() => held.length === 2)
  t.equal(proxy.active, 2)

  let idle = false
  const idlePromise = proxy.idle().then(() => { idle = true })

  held[0]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await first).status, 200)
  await waitFor(() => proxy.active === 1)
  await new Promise((resolve) => setImmediate(resolve)) // any resolution already due has run
  t.equal(idle, false, 'one request still in flight: not idle')

  held[1]!.writeHead(200, { 'content-length': '2' }).end('ok')
  t.equal((await second).status, 200)
  await idlePromise
  t.equal(idle, true)
  t.equal(proxy.active, 0)
})
