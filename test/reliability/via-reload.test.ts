// server.via is a setting a reload applies in place (config-diff lists it with no restart): the requests that arrive
// after the reload carry the new received-by, with the same instance id, and server.via: false turns the entry off.
// The reload path builds the front half anew from the new settings (src/app.ts applySettings → configureFront), which
// must be given server.via, or the gateway keeps naming itself 'switchyard' until it restarts.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from '../proxy/raw.ts'

t.test("a reload's server.via names the gateway from the next request on; false turns the entry off", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = (via: string | false | undefined): GatewayConfig => ({
    ...(via === undefined ? {} : { server: { via } }),
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }) as GatewayConfig
  let next: string | false | undefined
  const gw = await startGateway(config(undefined), { defaultMetrics: false, load: async () => validateConfig(config(next)) })
  t.teardown(() => gw.close())
  const port = portOf(gw.url)
  const get = async (): Promise<void> => {
    t.equal((await rawRequest(port, 'GET /v HTTP/1.1\r\nHost: a.example\r\nVia: 1.1 lb\r\n\r\n')).status, 200)
  }

  await get()
  const first = String(u.requests[0]?.headers.via)
  t.match(first, /^1\.1 lb, 1\.1 switchyard \(switchyard\/[0-9a-f]{8}\)$/, 'the default received-by')
  const id = /\(switchyard\/([0-9a-f]{8})\)/.exec(first)?.[1]

  next = 'edge-9:8443'
  t.equal((await gw.gateway.reload()).result, 'success', 'reloaded with server.via edge-9:8443')
  await get()
  t.equal(u.requests[1]?.headers.via, `1.1 lb, 1.1 edge-9:8443 (switchyard/${id})`, 'the new received-by, the same instance id')

  next = false
  t.equal((await gw.gateway.reload()).result, 'success', 'reloaded with server.via false')
  await get()
  t.equal(u.requests[2]?.headers.via, '1.1 lb', "no entry of the gateway's: the client's Via passes unchanged")
})
