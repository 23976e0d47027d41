// A target declining an upgrade with a 500 and no Date: the client gets the answer with a Date (RFC 9110 §6.6.1: Node
// gives one to every answer it forwards as a ServerResponse, this one is written raw), and the dashboard counts the
// 500 as an error, as it does for requests (not a failure of the target's: 500 is not in failureStatuses).
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import type { TrafficSummary } from '../../src/admin/history.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'
import { sendHandshake } from './queued-handshake.ts'

const DATE = /\r\ndate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/i

t.test('a declined upgrade: Date added, 5xx counted as an error', async (t) => {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const port = (server.address() as { port: number }).port
  const gw = await gateway(t, {
    pools: { p: { targets: [`http://127.0.0.1:${port}`], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const c = await sendHandshake(t, gw.url)
  await c.closed
  t.match(c.received(), /^HTTP\/1\.1 500 /, 'the target\'s answer')
  t.match(c.received(), DATE, 'with a Date')
  t.match(c.received(), /\r\n\r\nboom$/, 'and its body')
  let summary: TrafficSummary | undefined
  // the history is sampled once a second
  await waitFor(async () => {
    summary = await (await fetch(`${admin}/history`)).json() as TrafficSummary
    return (summary.targets.p?.[`127.0.0.1:${port}`]?.errorRate ?? 0) > 0
  }, 3000).catch(() => {})
  t.equal(summary!.targets.p![`127.0.0.1:${port}`]!.errorRate, 1, 'an error on the dashboard')
})
