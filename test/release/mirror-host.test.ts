// A shadow copy carries the Host its mirror pool's preserveHost says, as the pool's own requests do: the client's
// with preserveHost (the default), the target's host:port without it. A mirror service behind a virtual host that
// expects its own name must get it, not the name the client used for the primary.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream, type Tap } from '../proxy/setup.ts'

async function copyHost (t: Tap, preserveHost: boolean): Promise<{ host: string | undefined; target: string }> {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [main.url] }, shadow: { targets: [shadow.url], preserveHost } },
    routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow' } }],
  }, { defaultMetrics: false })
  t.equal((await httpRequest(`${gw.url}/api/x`, { headers: { host: 'shop.example' } })).status, 200)
  await waitFor(() => shadow.requests.length === 1)
  t.equal(main.requests[0]!.headers.host, 'shop.example', "the primary pool preserves the client's Host")
  return { host: shadow.requests[0]!.headers.host, target: `127.0.0.1:${shadow.port}` }
}

t.test("preserveHost false: the copy carries the mirror target's host", async (t) => {
  const { host, target } = await copyHost(t, false)
  t.equal(host, target)
})

t.test("preserveHost true: the copy carries the client's Host", async (t) => {
  const { host } = await copyHost(t, true)
  t.equal(host, 'shop.example')
})
