// The request deadline runs on the monotonic clock: a step of the wall clock (NTP, a VM resumed) between attempts
// neither stretches the last attempt past timeouts.requestMs nor cuts it short. It was kept on the wall clock: a
// step back of 5 s let a request with requestMs 1,000 run for 6 s.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { systemClock, type Clock } from '../../src/runtime.ts'
import { startGateway } from '../helpers/gateway.ts'

t.test('a wall clock stepped back between attempts does not stretch the deadline', async (t) => {
  let offset = 0
  const clock: Clock = { ...systemClock, now: () => Date.now() + offset }
  let seen = 0
  const handler = (req: IncomingMessage): void => {
    // the first attempt: the wall clock steps back 5 s, then the connection is reset; the second one hangs
    if (seen++ === 0) {
      offset -= 5000
      req.socket.destroy()
    }
  }
  const servers: Server[] = [createServer(handler), createServer(handler)]
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))))
  t.teardown(() => {
    for (const s of servers) {
      s.closeAllConnections()
      s.close()
    }
  })
  const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`)
  const gw = await startGateway({
    pools: { api: { targets: urls, retry: { attempts: 2, perTryTimeoutMs: 300 }, outlier: { enabled: false }, timeouts: { requestMs: 1000 } } },
    routes: [{ path: '/', pool: 'api' }],
  }, { defaultMetrics: false, clock })
  t.teardown(() => gw.close())
  const started = performance.now()
  const res = await fetch(`${gw.url}/x`)
  const elapsed = performance.now() - started
  t.equal(res.status, 504)
  t.equal(((await res.json()) as { error: string }).error, 'upstream_timeout')
  t.ok(elapsed < 4500, `answered within requestMs and some slack, not ~6 s (${Math.round(elapsed)} ms)`)
})
