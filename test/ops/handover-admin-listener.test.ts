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
import { ManualClock } from '../helpers/clock.ts'
import { settlesWithin, startGateway } from '../helpers/gateway.ts'
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

// A handover's old process refuses only actions 503: a read already under way on a connection opened before the stop
// signal (GET /status) is answered, its connection closed after the answer so the next call reaches the new process.
t.test('handover-admin-reads', async (t) => {
  t.test('with reusePort, a read under way at the stop signal is answered, then its connection closed', async (t) => {
    const u = await TestUpstream.start({ name: 'u' })
    const config: GatewayConfig = {
      server: { reusePort: true },
      shutdown: { delayMs: 1000, timeoutMs: 5000 },
      pools: { u: { targets: [u.url] } },
      routes: [{ path: '/', pool: 'u' }],
    }
    const gw = await startGateway(config)
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const busy = connect(Number(new URL(admin).port), '127.0.0.1')
    t.teardown(async () => { busy.destroy(); await gw.close(); await u.close() })
    await once(busy, 'connect')
    // a request begun, its head not yet whole: the connection is busy, not idle
    busy.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const stopped = gw.gateway.shutdown()
    stopped.catch(() => {}) // the drain goes on past the test: teardown closes the gateway
    let answer = ''
    busy.on('data', (chunk: Buffer) => { answer += chunk.toString() })
    busy.write('\r\n')
    await once(busy, 'close')
    t.match(answer, /^HTTP\/1\.1 200 /, 'a read is answered')
    t.match(answer, /\r\nconnection: close\r\n/i, 'and its connection closed')
    t.match(answer, /"readiness":"draining"/, 'by the process that stops')
  })
})

// A handover's old process (server.reusePort, then a stop signal) ends the dashboard's live streams at once and closes
// their connections, so the browser reconnects to the process taking over; it did not wait for its drain to end.
t.test('handover-live-streams', async (t) => {
  t.test('with reusePort, a stop signal ends a live stream and closes its connection before the drain ends', async (t) => {
    const u = await TestUpstream.start({ name: 'u' })
    const config: GatewayConfig = {
      server: { reusePort: true },
      shutdown: { delayMs: 1000, timeoutMs: 5000 },
      pools: { u: { targets: [u.url] } },
      routes: [{ path: '/', pool: 'u' }],
    }
    // the drain's delay runs on a manual clock: it never ends by itself, so only the handover can end the stream
    const clock = new ManualClock()
    const gw = await startGateway(config, { clock })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const stream = connect(Number(new URL(admin).port), '127.0.0.1')
    t.teardown(async () => { stream.destroy(); await gw.close(); await u.close() })
    await once(stream, 'connect')
    let received = ''
    stream.on('data', (chunk: Buffer) => { received += chunk.toString() })
    stream.write('GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await once(stream, 'data')
    t.match(received, /^HTTP\/1\.1 200 /, 'the stream is open')
    const closed = once(stream, 'close')
    const stopped = gw.gateway.shutdown()
    stopped.catch(() => {}) // the drain waits for the manual clock: teardown closes the gateway
    t.ok(await settlesWithin(closed, 3000), 'its connection is closed at the stop signal, the drain still under way')
    t.match(received, /\r\n0\r\n\r\n$/, 'the stream was ended (its last chunk sent), not cut')
  })
})

// The refusal was checked once, as the headers came: an action whose headers came before the stop signal and its
// body after was carried out by the old process (a canary weight, a switchover), and lost with it.
t.test('with reusePort, an action whose body arrives after the stop signal is refused', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ server: { reusePort: true }, shutdown: { delayMs: 1000, timeoutMs: 5000 }, pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const busy = connect(Number(new URL(admin).port), '127.0.0.1')
  t.teardown(async () => { busy.destroy(); await gw.close(); await u.close() })
  await once(busy, 'connect')
  let answer = ''
  busy.on('data', (chunk: Buffer) => { answer += chunk.toString() })
  const body = '{"to":"backup"}'
  busy.write(`POST /pools/u/switchover HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
  // the headers are read (a GET on another connection is answered after them, in order of arrival)
  t.equal((await get(Number(new URL(admin).port), '/healthz', false)).status, 200)
  gw.gateway.shutdown().catch(() => {})
  busy.write(body)
  await once(busy, 'close')
  t.match(answer, /^HTTP\/1\.1 503 /, 'refused, not carried out (409 no_backup_targets, from the handler, without the check)')
  t.match(answer, /"error":"shutting_down"/)
})
