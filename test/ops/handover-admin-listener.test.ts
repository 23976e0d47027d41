// A handover's old process (server.reusePort, then a stop signal) stops taking admin connections at once, and
// closes the open ones after their next answer: with the admin port shared, an operator's call reaching the old
// process (a drain, a reload) was lost with it when it exited. Without reusePort (a plain pod stop) the admin
// listener stays open to the end, so the kubelet's probes still get 503 from /readyz, not a refused connection.
import { Agent, request } from 'node:http'
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

async function setup (t: Tap, reusePort: boolean): Promise<{ port: number; agent: Agent; stopped: Promise<void> }> {
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
  t.teardown(async () => { agent.destroy(); await gw.close(); await u.close() })
  const port = Number(new URL(admin).port)
  t.match(await get(port, '/healthz', agent), { status: 200, connection: 'keep-alive' }, 'a kept-alive admin connection')
  const stopped = gw.gateway.shutdown()
  // the drain goes on past the test's requests: teardown closes the gateway
  stopped.catch(() => {})
  return { port, agent, stopped }
}

t.test('with reusePort, a stop signal closes the admin listener to new connections', async (t) => {
  const { port, agent } = await setup(t, true)
  t.match(await get(port, '/readyz', agent), { status: 503, connection: 'close' }, 'the open connection gets its answer, then closes')
  await t.rejects(get(port, '/readyz', false), { code: 'ECONNREFUSED' }, 'a new connection is not taken: it reaches the new process')
})

t.test('without reusePort, the admin listener stays open through the drain', async (t) => {
  const { port, agent } = await setup(t, false)
  t.match(await get(port, '/readyz', agent), { status: 503, connection: 'keep-alive' }, 'the open connection is kept')
  t.match(await get(port, '/readyz', false), { status: 503 }, 'a new connection gets 503, not refused')
})

