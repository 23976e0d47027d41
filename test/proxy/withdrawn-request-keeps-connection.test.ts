// A request that gave up while it waited for one of a target's connections (its deadline ran out: 503
// upstream_busy) is taken out of the target's queue at once. When the connection comes free it goes to the next
// request, kept alive; it is never spent starting the dead request only to abort it, which would close the
// upstream connection under the next request's feet (a fresh connect for every request that timed out waiting).
// (src/proxy/attempt.ts, #settle: `if (this.#target.client.withdraw(this)) this.#leaveQueue()`.)
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

t.test('a queued request that timed out leaves the kept-alive connection to the next request', async (t) => {
  // the upstream answers a request once its whole body has arrived, and counts the connections made to it
  let connections = 0
  const seen: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url!)
    req.resume()
    req.on('end', () => res.end('ok'))
  })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`],
        connections: { maxPerTarget: 1 },
        // a streamed upload's deadline starts once it has been sent: the holder below keeps the only connection
        // as long as it likes, while a GET queued behind it runs out of its 300 ms
        retry: { attempts: 1, maxBufferBytes: 16 },
        timeouts: { requestMs: 300 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const target = gw.gateway.pools().get('p')!.pool.targets[0]!

  // 1. a chunked upload takes the only connection and keeps it until its body ends
  const held = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const holder = request(`${gw.url}/hold`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    holder.on('error', reject)
    t.teardown(() => { holder.destroy() })
    holder.write('more than sixteen bytes of a body that is still coming')
    void waitFor(() => seen.includes('/hold') && target.inFlight === 1).then(async () => {
      // 2. a GET waits for that connection until its deadline runs out
      const queued = await fetch(`${gw.url}/queued`)
      t.equal(queued.status, 503, 'the queued GET')
      t.equal(((await queued.json()) as { error: string }).error, 'upstream_busy', 'it never reached the upstream')
      t.equal(target.queued, 0, 'out of the target\'s queue')
      // 3. the upload ends: the upstream answers it, and the connection comes free
      holder.end()
    }).catch(reject)
  })
  t.same(await held, { status: 200, body: 'ok' }, 'the upload was answered')
  // 4. the next request takes the same connection
  const after = await fetch(`${gw.url}/after`)
  t.equal(after.status, 200, 'the next request is served')
  await after.text()
  t.same(seen, ['/hold', '/after'], 'the timed-out GET never reached the upstream')
  t.equal(connections, 1, 'one upstream connection, kept alive: the dead request did not close it')
  t.equal(gw.accessLogs().find((l) => l.path === '/queued')?.error, 'upstream_busy')
})
