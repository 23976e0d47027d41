// A shadow copy whose deadline ran out while a connection was being opened for it is over: when that connection
// comes up after all (the mirror target was only slow to accept), undici starting the copy must not send it. A copy
// sent past its deadline would reach the shadow service unbounded and uncounted (the copy was already counted as
// the target's timeout, and its mirror slot given back), loading it beyond maxConcurrent.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const forAddress = certs.leaf('ip', ca, 'IP:127.0.0.1')

t.test('a copy that timed out while its connection was opened is not sent once the connection is up', async (t) => {
  const shadow = await upstream(t, 'shadow', { tls: forAddress })
  // a gate in front of the shadow: holds connections until opened, then pipes them through
  const held = new Set<Socket>()
  let open = false
  const pipe = (socket: Socket): void => {
    const out = connect(shadow.port, '127.0.0.1')
    out.on('error', () => socket.destroy())
    socket.on('error', () => out.destroy())
    socket.pipe(out).pipe(socket)
  }
  const gate = createServer((socket) => {
    held.add(socket)
    socket.once('close', () => held.delete(socket))
    if (open) pipe(socket)
  })
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of held) s.destroy()
    return new Promise<void>((resolve) => gate.close(() => resolve()))
  })
  const main = await upstream(t, 'main')
  const clock = new ManualClock()
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url] },
      shadow: {
        targets: [`https://127.0.0.1:${(gate.address() as AddressInfo).port}`],
        tls: { ca: ca.cert },
        connections: { maxPerTarget: 1 },
        timeouts: { requestMs: 500, connectMs: 60_000 },
        outlier: { enabled: false },
        circuitBreaker: { enabled: false },
      },
    },
    routes: [{ path: '/direct', pool: 'shadow' }, { path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { clock, defaultMetrics: false })
  const plan = [...gw.gateway.proxy.state.plans!.values()].find((p) => p.mirror !== undefined)!

  t.equal((await httpRequest(`${gw.url}/api/x`)).status, 200)
  await waitFor(() => held.size === 1)
  clock.advance(500)
  t.equal(plan.mirrorsInFlight, 0, 'its deadline ended it')

  // the target accepts after all: the connection opened for the copy comes up
  open = true
  for (const s of held) pipe(s)
  // the shadow pool's own request, behind the copy on the only connection were the copy sent
  t.equal((await httpRequest(`${gw.url}/direct/after`)).status, 200)
  t.strictSame(shadow.requests.map((r) => r.url), ['/direct/after'], 'the timed-out copy never reached the shadow')
})
