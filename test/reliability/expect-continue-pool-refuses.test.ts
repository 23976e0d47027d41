// A request the gateway refuses is never told to send its body (README): that includes a pool whose breaker is
// open (503 circuit_open) or which has no target available (503 no_available_target). With Expect: 100-continue,
// the gateway looks at both before saying 100 Continue, and refuses at once without it; the body is never read,
// so the connection closes after the refusal (as after a 413).
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { settlesWithin, startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { TestGateway } from '../helpers/gateway.ts'

async function setup (t: Test): Promise<{ gw: TestGateway; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, u }
}

for (const [what, error, stop] of [
  ['its pool\'s breaker is open', 'circuit_open', (gw: TestGateway) => gw.gateway.pools().get('p')!.breaker.force('open')],
  ['its pool has no target available', 'no_available_target', (gw: TestGateway) => { const pool = gw.gateway.pools().get('p')!.pool; for (const target of pool.targets) pool.setStatus(target, { disabled: true }) }],
] as const) {
  t.test(`${what}: 503 ${error} before any 100 Continue, and the connection closes`, async (t) => {
    const { gw, u } = await setup(t)
    stop(gw)
    const c = rawConnection(t, Number(new URL(gw.url).port))
    await c.connected
    c.socket.write('POST /api/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n')
    await settlesWithin(c.closed, 3000)
    t.match(c.received(), /^HTTP\/1\.1 503 /, 'the refusal comes first')
    t.notMatch(c.received(), /100 Continue/)
    t.match(c.received(), new RegExp(`"error":"${error}"`))
    t.match(c.received(), /\r\nconnection: close\r\n/i)
    t.equal(u.requests.length, 0)
    t.match(gw.accessLogs().find((l) => l.path === '/api/x'), { status: 503, error })
  })
}
