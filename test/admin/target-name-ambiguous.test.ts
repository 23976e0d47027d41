// A target is named in the admin API by host:port or by its URL; a bare host (its default port left out) only when
// it names one target: with `http://127.0.0.1` and `https://127.0.0.1` in one pool, `127.0.0.1` would have drained
// whichever came first.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { adminRequest } from './admin-request.ts'

t.test('a bare host naming two targets is refused; host:port and URL name one', async (t) => {
  // never contacted: no health checks, no requests
  const gw = await startGateway({ pools: { p: { targets: ['http://127.0.0.1', 'https://127.0.0.1'] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(() => gw.close())
  const ambiguous = await adminRequest(admin, 'POST', '/pools/p/targets/127.0.0.1/drain')
  t.equal(ambiguous.status, 404)
  t.equal(ambiguous.body.error, 'unknown_target')
  t.equal((await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent('127.0.0.1:443')}/drain`)).status, 200, 'host:port')
  t.equal((await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent('http://127.0.0.1')}/disable`)).status, 200, 'URL')
  const states = Object.fromEntries(gw.gateway.status().pools.p!.targets.map((x) => [x.id, x.state]))
  t.same(states, { '127.0.0.1:80': 'disabled', '127.0.0.1:443': 'drained' })
})

// A target is looked up by any spelling of its name, but only of its name: a URL with credentials is no origin,
// and an IPv6 literal with a zone id is another host (a link-local address on some interface), so neither names
// the target they would parse down to.
t.test('target-name-not-an-origin', async (t) => {
  t.test('a URL with userinfo, or an address with a zone id, names no target', async (t) => {
    const gw = await startGateway({
      pools: { p: { targets: ['http://127.0.0.1:1', 'http://[fe80::1]:8080'] } },
      routes: [{ path: '/', pool: 'p' }],
    }, { defaultMetrics: false })
    t.teardown(() => gw.close())
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    const disable = async (name: string): Promise<number> => (await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(name)}/disable`)).status
    t.equal(await disable('http://user:pw@127.0.0.1:1'), 404, 'credentials: no origin')
    t.equal(await disable('[fe80::1%eth0]:8080'), 404, 'a zone id: another host')
    t.same(gw.gateway.status().pools.p!.targets.map((x) => x.state), ['healthy', 'healthy'], 'nothing disabled')
    // (the same names without them do name the targets)
    t.equal(await disable('http://127.0.0.1:1'), 200)
    t.equal(await disable('[FE80:0::1]:8080'), 200)
  })
})
