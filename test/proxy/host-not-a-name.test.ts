// A Host (or an absolute-form authority) holding what no host name holds (',', ';', '=', '*', quotes, parentheses:
// RFC 3986's sub-delims) is refused 400. 'public.example,admin.example' was routed as one unknown name to the any-host
// pool and went on as an X-Forwarded-Host list, whose last (Fastify) or first (Express) entry the upstream took for
// the host it serves: the host-bound host's, in the public app (review r36g). Names that hosts have still pass.
import t from 'tap'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway } from './setup.ts'

t.test('a Host that is no host name is refused', async (t) => {
  const admin = await TestUpstream.start({ name: 'admin' })
  const pub = await TestUpstream.start({ name: 'public' })
  t.teardown(() => Promise.all([admin.close(), pub.close()]))
  const gw = await gateway(t, {
    pools: { admin: { targets: [admin.url] }, public: { targets: [pub.url] } },
    routes: [{ path: '/', pool: 'admin', host: 'admin.example.com' }, { path: '/', pool: 'public' }],
  })
  const port = portOf(gw.url)
  for (const host of ['public.example.com,admin.example.com', 'a;b', 'a=b', 'a*b', "a'b", 'a(b)', 'a!b', 'a$b', 'a&b', 'a+b']) {
    const res = await rawRequest(port, `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    t.equal(res.status, 400, host)
    const absolute = await rawRequest(port, `GET http://${host}/x HTTP/1.1\r\nHost: public.example.com\r\nConnection: close\r\n\r\n`)
    t.equal(absolute.status, 400, `${host} as an absolute-form authority`)
  }
  for (const host of ['public.example.com', 'under_score.example', 'x-y.example:8080', '127.0.0.1', '[::1]:80', 'a~b.example']) {
    const res = await rawRequest(port, `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    t.equal(res.status, 200, `${host} passes`)
  }
  t.equal(admin.requests.length, 0)
})
