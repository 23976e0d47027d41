// A refused WebSocket upgrade's access-log line has the fields a refused request's has: its route and pool once
// routed, attempts 0, the bytes its connection carried (nothing in after the handshake's head, the refusal out), and durationMs to two
// decimals. The line of an upgrade refused by an open breaker had none of route, pool, bytesIn, bytesOut or
// attempts, and every upgrade line rounded durationMs to whole milliseconds.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawExchange } from './raw.ts'
import { gateway, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test('an upgrade refused by an open breaker is logged as a refused request is', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ name: 'chat', path: '/', pool: 'ws' }] }, { defaultMetrics: false })
  gw.gateway.pools().get('ws')!.breaker.force('open')
  const ids = ['open-1', 'open-2', 'open-3']
  const received: number[] = []
  const handshakes = ids.map((id) => wsHandshake('/ws', id))
  for (const handshake of handshakes) {
    const answer = await rawExchange(portOf(gw.url), handshake)
    t.match(answer.toString('latin1'), /^HTTP\/1\.1 503 /)
    received.push(answer.length)
  }
  await waitFor(() => ids.every((id) => gw.accessLogs().some((l) => l.requestId === id)))
  const lines = ids.map((id) => gw.accessLogs().find((l) => l.requestId === id)!)
  lines.forEach((line, i) => {
    t.match(line, { status: 503, error: 'circuit_open', upgrade: true, route: 'chat', pool: 'ws', attempts: 0 }, `${ids[i]}: route, pool, no attempt`)
    t.equal(line.target, undefined, `${ids[i]}: no target tried`)
    t.equal(line.bytesIn, 0, `${ids[i]}: bytesIn, nothing after its handshake's head`)
    t.equal(line.bytesOut, received[i], `${ids[i]}: bytesOut, its refusal`)
    t.type(line.durationMs, 'number')
    const hundredths = (line.durationMs as number) * 100
    t.ok(Math.abs(hundredths - Math.round(hundredths)) < 1e-6, `${ids[i]}: at most two decimals`)
  })
  // whole milliseconds would make every sub-millisecond refusal 0 or 1; three in a row all whole at two decimals
  // would be a one-in-a-million chance
  t.ok(lines.some((line) => !Number.isInteger(line.durationMs)), 'durationMs keeps its fraction')
})
