// pools.*.failureStatuses apply to WebSocket handshakes as to requests: a target declining upgrades with a failure
// status (503) is counted as failing by outlier detection and the breaker; a 101 is a success, and a status outside
// failureStatuses (403) no failure.
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawHandshake } from './raw.ts'
import { HANDSHAKE } from './queued-handshake.ts'
import { gateway, type Tap } from './setup.ts'

/** A target answering the handshakes it gets with `answers`, in order: 101 switches protocols, others decline. */
async function scriptedTarget (t: Tap, answers: number[]): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => {
      const status = answers.shift()
      if (status === 101) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n')
      else socket.end(`HTTP/1.1 ${status} Declined\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** Sends the handshakes one after another; resolves with the statuses the client got, once every line is logged. */
async function handshakes (t: Tap, answers: number[]) {
  const url = await scriptedTarget(t, [...answers])
  const gw = await gateway(t, {
    pools: {
      p: {
        targets: [url],
        retry: { attempts: 1 },
        outlier: { consecutiveFailures: 2, maxEjectionPercent: 100 },
        circuitBreaker: { volumeThreshold: 2, errorThresholdPercentage: 50 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  const statuses: number[] = []
  for (const _ of answers) {
    const { response, socket } = await rawHandshake(portOf(gw.url), HANDSHAKE)
    statuses.push(response.status)
    socket.destroy() // a tunnel's line is written when it closes
  }
  await waitFor(() => gw.accessLogs().filter((l) => l.upgrade === true).length === answers.length)
  const pool = gw.gateway.status().pools.p!
  return { statuses, target: pool.targets[0]!, circuit: pool.circuit }
}

t.test('handshakes declined with a failure status eject the target and open the breaker', async (t) => {
  const { statuses, target, circuit } = await handshakes(t, [503, 503])
  t.same(statuses, [503, 503])
  t.equal(target.failures, 2, 'each counted as the target\'s failure')
  t.equal(target.state, 'ejected', 'outlier detection: two failures in a row')
  t.equal(circuit, 'open', 'the breaker: two failures of two')
})

t.test('a 101 between failure statuses is a success: the failures are not consecutive', async (t) => {
  const { statuses, target } = await handshakes(t, [503, 101, 503])
  t.same(statuses, [503, 101, 503])
  t.equal(target.failures, 2)
  t.equal(target.state, 'healthy')
})

t.test('a status outside failureStatuses is no failure of the target', async (t) => {
  const { statuses, target, circuit } = await handshakes(t, [403, 403])
  t.same(statuses, [403, 403])
  t.equal(target.failures, 0)
  t.equal(target.state, 'healthy')
  t.equal(circuit, 'closed')
})
