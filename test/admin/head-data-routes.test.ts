// HEAD of a route that gives the gateway's state away (/status, /pools, /events, /history) is guarded as its GET
// is: the token when one is set, never for a page of another origin. A HEAD answer carries the GET's headers (its
// length, its type): a route's guard that a change of method skips would be a hole in the admin API's access
// rules. Probes (/healthz, /readyz) stay open to HEAD as to GET.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

const TOKEN = 'head-token-0123456789abcdef'
const DATA = ['/status', '/pools', '/events', '/history']

t.test('HEAD of a data route wants the token and the same origin, as GET does', async (t) => {
  const p1 = await TestUpstream.start({ name: 'p1' })
  const gw = await startGateway({ admin: { token: TOKEN }, pools: { pay: { targets: [p1.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close() })
  const bearer = { authorization: `Bearer ${TOKEN}` }
  for (const path of DATA) {
    t.equal((await adminRequest(admin, 'HEAD', path)).status, 401, `HEAD ${path} without the token`)
    t.equal((await adminRequest(admin, 'HEAD', path, { ...bearer, origin: 'http://evil.example' })).status, 403, `HEAD ${path} from another origin`)
    t.equal((await adminRequest(admin, 'HEAD', path, bearer)).status, 200, `HEAD ${path} with the token`)
  }
  for (const path of ['/healthz', '/readyz']) t.equal((await adminRequest(admin, 'HEAD', path)).status, 200, `HEAD ${path}: a probe`)
})
