// A shadow copy that waits for a connection of a saturated mirror pool: its deadline (the mirror pool's
// requestMs) ends it there, giving back its mirror slot without counting against the target, and takes it out of
// the target's queue: a copy past its deadline never reaches the shadow upstream.
import { createServer, get, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

t.test('a mirror queued past its deadline ends, frees its slot, and never reaches the shadow upstream', async (t) => {
  let held: ServerResponse | undefined
  let copies = 0
  const shadow = createServer((req, res) => {
    if (req.url === '/stream') {
      held = res
      res.writeHead(200).write('x') // holds the mirror pool's only connection until ended below
      return
    }
    copies++
    res.end('shadow')
  })
  await new Promise<void>((resolve) => shadow.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { shadow.closeAllConnections(); shadow.close() })
  const main = await upstream(t, 'main')
  const clock = new ManualClock()
  const gw = await gateway(t, {
    pools: {
      main: { targets: [main.url] },
      shadow: { targets: [`http://127.0.0.1:${(shadow.address() as AddressInfo).port}`], connections: { maxPerTarget: 1 }, timeouts: { requestMs: 500 } },
    },
    routes: [{ path: '/stream', pool: 'shadow' }, { path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { clock, defaultMetrics: false })
  const plan = [...gw.gateway.proxy.state.plans!.values()][0]!
  const target = gw.gateway.pools().get('shadow')!.pool.targets[0]!

  const stream = get(`${gw.url}/stream`, (res) => res.resume())
  stream.on('error', () => { /* ended below */ })
  t.teardown(() => { stream.destroy() })
  await waitFor(() => held !== undefined)

  t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200, "the client's answer never waits for the mirror")
  await waitFor(() => target.queued === 1)
  t.equal(plan.mirrorsInFlight, 1, 'the copy waits for the connection')
  clock.advance(500)
  t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it and gave its slot back')
  t.equal(target.failures, 0, 'not a failure of the target, which never saw it')
  t.equal(target.queued, 0, 'out of the queue at its deadline')
  t.equal(target.client.queued, 0)

  held!.end()
  await waitFor(() => target.queued === 0 && target.inFlight === 0)
  t.equal(copies, 0, 'the shadow upstream never received the copy')
})
