// An outlier ejection's log line names the kind of the last failure that tripped it (its `outcome` field and the
// message's "last ..."), in the attempt's words, whichever path the failures came by: a request's attempt that could
// not connect ('connect-failure', not a status), a WebSocket handshake the target declined with a failure status
// ('status 503'), and a handshake that could not connect ('connect-failure'). (src/proxy/attempt.ts and
// src/proxy/upgrade-attempt.ts pass the kind to outlier.failure; README/docs: an ejection "says why and for how
// long".) test/resilience/outlier-ejection-reason.test.ts checks a request's failure statuses through a gateway and
// the other kinds by hand; these go through the gateway, so a path that stopped naming its kind (or named every
// failure a status) shows here.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { HANDSHAKE } from '../proxy/queued-handshake.ts'
import { portOf, rawHandshake } from '../proxy/raw.ts'
import { refusedUrl, type Tap } from '../proxy/setup.ts'

const FAILURES = 2

/** A target that declines every WebSocket handshake with 503. */
async function decliningTarget (t: Tap): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => socket.end('HTTP/1.1 503 Declined\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** A gateway whose one target is ejected after FAILURES failures, nothing else in the way (no retry, no breaker). */
async function start (t: Tap, target: string) {
  const config: GatewayConfig = {
    pools: { p: { targets: [target], retry: { attempts: 1 }, circuitBreaker: { enabled: false }, outlier: { consecutiveFailures: FAILURES, maxEjectionPercent: 100 } } },
    routes: [{ path: '/', pool: 'p' }],
  }
  const gw = await startGateway(config, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const ejection = async (): Promise<LogRecord> => {
    await waitFor(() => gw.logs.some((l) => l.event === 'target' && l.msg.startsWith('target ejected')))
    return gw.logs.find((l) => l.event === 'target' && l.msg.startsWith('target ejected'))!
  }
  return { gw, ejection }
}

async function handshakes (url: string): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < FAILURES; i++) {
    const { response, socket } = await rawHandshake(portOf(url), HANDSHAKE)
    socket.destroy()
    statuses.push(response.status)
  }
  return statuses
}

t.test('requests that cannot connect: the ejection names connect-failure', async (t) => {
  const { gw, ejection } = await start(t, await refusedUrl())
  for (let i = 0; i < FAILURES; i++) t.equal((await fetch(`${gw.url}/x`)).status, 502)
  t.match(await ejection(), { level: 40, msg: /\(2 consecutive failures, last connect-failure\)$/, failures: FAILURES, outcome: 'connect-failure' })
})

t.test('handshakes declined with 503: the ejection names status 503', async (t) => {
  const { gw, ejection } = await start(t, await decliningTarget(t))
  t.same(await handshakes(gw.url), [503, 503])
  t.match(await ejection(), { level: 40, msg: /\(2 consecutive failures, last status 503\)$/, failures: FAILURES, outcome: 'status 503' })
})

t.test('handshakes that cannot connect: the ejection names connect-failure', async (t) => {
  const { gw, ejection } = await start(t, await refusedUrl())
  t.same(await handshakes(gw.url), [502, 502])
  t.match(await ejection(), { level: 40, msg: /\(2 consecutive failures, last connect-failure\)$/, failures: FAILURES, outcome: 'connect-failure' })
})
