// A shadow copy whose deadline (the mirror pool's requestMs) runs out while a connection is being opened for it
// (the shadow target accepts TCP and never answers the TLS handshake) met a target slow to accept: a timeout, the
// target's failure, as a request's or a handshake's is in the same spot. Only a copy still waiting in the target's
// queue behind busy connections is "busy", never seen by the target. (src/proxy/mirror.ts, abort: the copy is busy
// only when withdraw() finds it waiting.)
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('a mirror copy timed out while its connection is being opened is the shadow target\'s timeout', async (t) => {
  const held = new Set<Socket>()
  const silent = createServer((socket) => { held.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of held) s.destroy()
    return new Promise<void>((resolve) => silent.close(() => resolve()))
  })
  const main = await upstream(t, 'main')
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      main: { targets: [main.url] },
      shadow: {
        targets: [`https://127.0.0.1:${(silent.address() as AddressInfo).port}`],
        tls: { rejectUnauthorized: false },
        timeouts: { requestMs: 500, connectMs: 60_000 },
        outlier: { enabled: false },
      },
    },
    routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { clock, defaultMetrics: false })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!

  t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200)
  await waitFor(() => held.size === 1)
  t.equal(target.client.queued, 0, 'not waiting in the queue: a connection is being opened for it')
  clock.advance(500)
  t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it')
  t.equal(target.failures, 1, 'the target was slow to accept: its failure')
  for (const s of held) s.destroy()
  await waitFor(() => target.inFlight === 0 && target.queued === 0)
})
