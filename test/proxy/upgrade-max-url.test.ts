// server.maxUrlBytes holds for WebSocket upgrades as for requests: a longer request target is answered 414 and the
// connection closed, before it is admitted (routed, sent on). The limit is read for each upgrade (a reload changes it).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import type { Admission } from '../../src/proxy/front.ts'
import { TunnelSet } from '../../src/proxy/tunnels.ts'
import { createUpgradeHandler } from '../../src/proxy/upgrade.ts'
import type { GatewayState } from '../../src/state.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { wsHandshake } from './ws-tunnel.ts'

t.test('an upgrade whose request target is over maxUrlBytes is refused 414 before admission', async (t) => {
  let limit = 256
  let admitted = 0
  const lines: Record<string, unknown>[] = []
  const logger = pino(new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } }))
  const tunnels = new TunnelSet()
  const server = createServer()
  server.on('upgrade', createUpgradeHandler({
    state: () => ({}) as GatewayState,
    // every upgrade admitted is refused no_route (404): enough to tell it got past the length check
    admit: (req) => { admitted++; return { requestId: 'x', path: req.url, refusal: 'no_route', runtime: undefined, route: undefined } as unknown as Admission },
    logger,
    tunnels,
    refuses: () => false,
    clientIp: () => '127.0.0.1',
    maxUrlBytes: () => limit,
  }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { tunnels.destroyAll(); server.close() })
  const port = (server.address() as AddressInfo).port

  /** The status line of the answer, once the gateway has closed the connection. */
  const upgrade = async (path: string): Promise<string> => {
    const client = rawConnection(t, port)
    await client.connected
    client.socket.write(wsHandshake(path, 'mine-1'))
    await client.closed
    return client.received().split('\r\n')[0]!
  }
  const long = '/ws?' + 'a'.repeat(400)
  t.match(await upgrade(long), /^HTTP\/1\.1 414 /)
  t.equal(admitted, 0, 'never admitted')
  await waitFor(() => lines.length === 1)
  t.match(lines[0], { status: 414, error: 'uri_too_long', upgrade: true, requestId: 'mine-1' })

  t.match(await upgrade('/ws'), /^HTTP\/1\.1 404 /, 'a short one is admitted')
  limit = 1024 // a reload raised the limit
  t.match(await upgrade(long), /^HTTP\/1\.1 404 /, 'the new limit holds from the next upgrade')
  t.equal(admitted, 2)
})
