// A Host header with userinfo (`rebind.evil.example@127.0.0.1:9901`) is no Host at all (RFC 9110 §7.2: uri-host
// [":" port]), yet a URL parser given `http://${host}` reads it as the IP after the '@'. With no token set, the admin
// listener on loopback must refuse it 403 forbidden_origin like the domain name it carries, not serve it as the IP
// literal it ends with; the same for a path, query, fragment or backslash that would move what the parser reads.
import t from 'tap'
import { servedHost } from '../../src/admin/auth.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

/** Host values that end like an IP literal or localhost but are not one; `port` is the listener's. */
const disguised = (port: string): string[] => [
  `rebind.evil.example@127.0.0.1:${port}`,
  `rebind.evil.example@127.0.0.1`,
  `evil@localhost:${port}`,
  `a:b@[::1]:${port}`,
  `127.0.0.1@127.0.0.1:${port}`,
  `@127.0.0.1:${port}`,
  `rebind.evil.example/@127.0.0.1:${port}`,
  `rebind.evil.example\\@127.0.0.1:${port}`,
  `rebind.evil.example?@127.0.0.1:${port}`,
  `rebind.evil.example#@127.0.0.1:${port}`,
]

t.test('servedHost: userinfo or a path in Host is never a loopback listener\'s IP literal', async (t) => {
  for (const host of disguised('9901')) t.equal(servedHost(host, '127.0.0.1'), false, host)
  for (const host of ['127.0.0.1:9901', 'localhost', '[::1]:9901']) t.equal(servedHost(host, '127.0.0.1'), true, `${host} (control)`)
})

t.test('servedHost: a path, query, fragment or backslash after an IP literal (no userinfo) is no Host either', async (t) => {
  for (const host of ['127.0.0.1:9901/rebind.evil.example', '127.0.0.1:9901?rebind', 'localhost#rebind', '127.0.0.1\\rebind.evil.example']) {
    t.equal(servedHost(host, '127.0.0.1'), false, host)
  }
})

t.test('no token: the admin listener refuses a Host with userinfo or a path, probes still answer', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  t.teardown(async () => { await gw.close(); await u.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = new URL(admin).port
  for (const host of disguised(port)) {
    for (const [method, path] of [['GET', '/status'], ['POST', '/pools/pay/failback']] as const) {
      const res = await adminRequest(admin, method, path, { host })
      t.equal(res.status, 403, `${method} ${path}, Host ${host}`)
      t.equal(res.body.error, 'forbidden_origin', `${method} ${path}, Host ${host}`)
    }
  }
  t.equal((await adminRequest(admin, 'GET', '/status', { host: `127.0.0.1:${port}` })).status, 200, 'the plain IP literal is served')
  t.equal((await adminRequest(admin, 'GET', '/healthz', { host: `rebind.evil.example@127.0.0.1:${port}` })).status, 200, '/healthz answers any Host')
})
