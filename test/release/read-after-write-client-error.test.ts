// Read-your-writes pins a client's reads to the primary only after a write that succeeded: a write the primary
// refused (4xx: a conflict, a validation error) changed nothing, so it sets no sticky token, and the client's next
// read still goes to a replica. A redirect (3xx) is no failure and pins as a 2xx does. (src/proxy/attempt.ts, the
// `statusCode < 400` of the sticky decision.)
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

const SECRET = 'a-shared-secret-of-32-characters!!'

t.test('a write answered 4xx sets no read-after-write token; 2xx and 3xx do', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  const gw = await startGateway({
    secret: SECRET,
    pools: {
      main: { targets: [primary.url] },
      replicas: { targets: [replica.url], retry: { attempts: 1 } },
    },
    routes: [{ path: '/member', pool: 'main', reads: { pool: 'replicas', methods: ['GET'], stickyAfterWriteMs: 5000 } }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await primary.close(); await replica.close() })
  await waitFor(() => gw.gateway.readiness() === 'ready')

  const write = (status: number) => httpRequest(`${gw.url}/member/1?status=${status}`, { method: 'POST', body: '{}' })

  for (const status of [400, 404, 409, 422, 499]) {
    const res = await write(status)
    t.equal(res.status, status, `the primary's ${status} is passed on`)
    t.equal(res.headers['set-cookie'], undefined, `a ${status} write sets no sticky cookie`)
    t.equal(res.headers['x-read-after-write'], undefined, `a ${status} write gives no x-read-after-write token`)
  }
  for (const status of [200, 201, 302]) {
    const res = await write(status)
    t.equal(res.status, status)
    t.equal(res.headers['set-cookie']?.length, 1, `a ${status} write sets the sticky cookie`)
    t.type(res.headers['x-read-after-write'], 'string', `a ${status} write gives the token`)
  }
})
