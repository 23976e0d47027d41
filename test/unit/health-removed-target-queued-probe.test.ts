// A target removed while its probe still waits for its connection (here: a TLS handshake that has not finished) is
// not probed once the connection comes (health/active.ts aborts the queued request, probe.ts at its start). The
// removed target's client closes gracefully, which would otherwise still send the probe: a request to an upstream
// the operator has just taken out of the pool.
import { once } from 'node:events'
import { createServer as createHttpsServer } from 'node:https'
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { CertificateMaker } from '../helpers/certificates.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { poolConfig } from './config-fixtures.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('test-ca')
const leaf = certs.leaf('upstream', ca, 'IP:127.0.0.1')

t.test('the queued probe of a removed target is never sent', async (t) => {
  // the upstream: counts the requests it gets
  let requests = 0
  const upstream = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (_req, res) => { requests++; res.end('ok') })
  upstream.listen(0, '127.0.0.1')
  await once(upstream, 'listening')
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const upstreamPort = (upstream.address() as AddressInfo).port

  // a gate in front of it: holds each connection (so its TLS handshake waits) until the test lets it through
  const held: Socket[] = []
  const sockets = new Set<Socket>()
  const gate = createNetServer((socket) => { held.push(socket); sockets.add(socket) })
  gate.listen(0, '127.0.0.1')
  await once(gate, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); gate.close() })
  const release = (): void => {
    for (const socket of held.splice(0)) {
      const onward = connect(upstreamPort, '127.0.0.1')
      sockets.add(onward)
      socket.pipe(onward).pipe(socket)
      socket.on('error', () => onward.destroy())
      onward.on('error', () => socket.destroy())
      socket.on('close', () => onward.destroy())
      onward.on('close', () => socket.destroy())
    }
  }

  const clock = new ManualClock()
  const runtime = new PoolRuntime('p', poolConfig({
    targets: [`https://127.0.0.1:${(gate.address() as AddressInfo).port}`],
    tls: { ca: ca.cert },
    healthCheck: { path: '/health', intervalMs: 10_000, timeoutMs: 5_000 },
  }), { clock, random: () => 0 })
  t.teardown(() => runtime.close())
  void runtime.start()
  clock.advance(0) // the first probe is sent: its connection waits at the gate
  await waitFor(() => held.length === 1)

  const probeConnection = held[0]!
  const closed = once(probeConnection, 'close')
  runtime.pool.setTargets([]) // removed while its probe is queued
  release()
  await closed // the removed target's client closes its connection once nothing is left to send
  t.equal(requests, 0, 'the upstream got no probe after the target was removed')
})
