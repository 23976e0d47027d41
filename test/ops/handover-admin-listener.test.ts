// A handover's old process (server.reusePort, then a stop signal) stops taking admin connections at once, closes
// idle ones, and closes the others after their next answer: with the admin port shared, an operator's call reaching
// the old process (a drain, a reload) was lost with it when it exited. An action already under way is refused 503
// shutting_down, so that its retry reaches the new process. Without reusePort (a plain pod stop) the admin listener
// stays open to the end, so the kubelet's probes still get 503 from /readyz, not a refused connection.
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface Answer { status: number; connection: string | undefined }

function get (port: number, path: string, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }))
    })
    req.on('error', reject)
    req.end()
  })
}

interface Setup { port: number; agent: Agent; busy: Socket }

/** A gateway with its admin listener, a kept-alive admin connection and one with a request begun; then stopping. */
async function setup (t: Tap, reusePort: boolean): Promise<Setup> {
  const u = await TestUpstream.start({ name: 'u' })
  const config: GatewayConfig = {
    server: { reusePort },
    shutdown: { delayMs: 1000, timeoutMs: 5000 },
    pools: { u: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'u' }],
  }
  const gw = await startGateway(config)
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const port = Number(new URL(admin).port)
  const busy = connect(port, '127.0.0.1')
  t.teardown(async () => { agent.destroy(); busy.destroy(); await gw.close(); await u.close() })
  await once(busy, 'connect')
  // a request begun, its head not yet whole: the connection is busy, not idle
  busy.write(`POST /pools/u/targets/127.0.0.1:${u.port}/drain HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
  t.match(await get(port, '/healthz', agent), { status: 200, connection: 'keep-alive' }, 'a kept-alive admin connection')
  const stopped = gw.gateway.shutdown()
  stopped.catch(() => {}) // the drain goes on past the test's requests: teardown closes the gateway
  return { port, agent, busy }
}

/** Finishes the busy connection's request head; resolves to what came back before it closed. */
async function finishBusy (busy: Socket): Promise<string> {
  let answer = ''
  busy.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  busy.write('Content-Length: 0\r\n\r\n')
  await once(busy, 'close')
  return answer
}

t.test('with reusePort, a stop signal closes the admin listener to new connections and idle ones', async (t) => {
  const { port, agent, busy } = await setup(t, true)
  await t.rejects(get(port, '/readyz', false), { code: 'ECONNREFUSED' }, 'a new connection is not taken: it reaches the new process')
  await t.rejects(get(port, '/readyz', agent), { code: 'ECONNREFUSED' }, 'the idle kept-alive one was closed: the next call opens a new one')
  const answer = await finishBusy(busy)
  t.match(answer, /^HTTP\/1\.1 503 /, 'an action under way is refused')
  t.match(answer, /\r\nretry-after: 0\r\n/i, 'to be retried at once')
  t.match(answer, /\r\nconnection: close\r\n/i, 'on a new connection')
  t.match(answer, /"error":"shutting_down"/)
})

t.test('without reusePort, the admin listener stays open through the drain', async (t) => {
  const { port, agent, busy } = await setup(t, false)
  t.match(await get(port, '/readyz', agent), { status: 503, connection: 'keep-alive' }, 'the open connection is kept')
  t.match(await get(port, '/readyz', false), { status: 503 }, 'a new connection gets 503, not refused')
  busy.end('Content-Length: 0\r\n\r\n')
  let answer = ''
  busy.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  await once(busy, 'close')
  t.match(answer, /^HTTP\/1\.1 200 /, 'an action is not refused for a handover')
})
