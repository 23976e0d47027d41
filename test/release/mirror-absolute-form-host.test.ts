// A mirror copy carries the Host its request was routed by: for an absolute-form target, its authority (RFC 9112
// §3.2.2), as the primary gets it. The copy took the Host line instead (another host's name, for a virtual-hosted
// shadow), or with none (HTTP/1.0) the mirror target's own address though its pool keeps the client's Host (review
// r36g).
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawRequest } from '../proxy/raw.ts'
import { gateway } from '../proxy/setup.ts'

t.test("an absolute-form request's copy carries its authority as Host", async (t) => {
  const admin = await TestUpstream.start({ name: 'admin' })
  const shadow = await TestUpstream.start({ name: 'shadow' })
  const pub = await TestUpstream.start({ name: 'public' })
  t.teardown(() => Promise.all([admin.close(), shadow.close(), pub.close()]))
  const gw = await gateway(t, {
    pools: { admin: { targets: [admin.url] }, shadow: { targets: [shadow.url] }, public: { targets: [pub.url] } },
    routes: [{ path: '/', pool: 'admin', host: 'admin.example.com', mirror: { pool: 'shadow' } }, { path: '/', pool: 'public' }],
  })
  const cases = [
    'GET http://admin.example.com/x HTTP/1.1\r\nHost: public.example.com\r\nConnection: close\r\n\r\n',
    'GET http://admin.example.com/y HTTP/1.0\r\n\r\n',
  ]
  for (const [i, bytes] of cases.entries()) {
    const res = await rawRequest(portOf(gw.url), bytes)
    t.equal(res.status, 200)
    await waitFor(() => shadow.requests.length === i + 1)
    t.equal(admin.requests[i]!.headers.host, 'admin.example.com', 'the primary gets the authority')
    t.equal(shadow.requests[i]!.headers.host, 'admin.example.com', 'and so does the copy')
  }
  t.equal(pub.requests.length, 0)
})
