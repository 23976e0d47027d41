// Loopback is the whole of 127.0.0.0/8 (RFC 1122 §3.2.1.3), not only 127.0.0.1: an admin listener on 127.0.0.2 (a
// second gateway on one host, a per-tenant loopback address) is just as reachable from a browser on that host, so
// with no token set it gets the same DNS-rebinding guard: a domain name in Host is refused 403 forbidden_origin, IP
// literals and localhost are served, and no "not on loopback" warning is logged at start. So is a loopback address
// spelt otherwise (0:0:0:0:0:0:0:1, ::ffff:127.0.0.1) and LOCALHOST: they were taken for other addresses, their
// listener open to rebinding with a false warning; and the short forms the resolver binds to 127.0.0.1 (127.1): the
// guard follows the address bound. Real listeners on each address (Linux routes all of 127/8 to lo;
// elsewhere that part is skipped).
import { createServer } from 'node:net'
import t from 'tap'
import { isLoopback, servedHost } from '../../src/admin/auth.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

const LOOPBACK = ['127.0.0.1', '127.0.0.2', '127.1.2.3', '127.255.255.254']

t.test('every 127/8 address is loopback; other addresses are not', async (t) => {
  const cases: [host: string, loopback: boolean][] = [
    ...LOOPBACK.map((h): [string, boolean] => [h, true]),
    ['localhost', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['10.127.0.1', false],
    ['0.0.0.0', false],
    ['::', false],
    ['admin.internal', false],
    // the other spellings of a loopback address, and the name in any case: each a listener the rebinding guard covers
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:2', true],
    ['LOCALHOST', true],
    ['::ffff:10.0.0.1', false],
    ['127.example.com', false],
  ]
  for (const [host, loopback] of cases) t.equal(isLoopback(host), loopback, host)
  for (const listener of ['::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', 'LOCALHOST']) {
    t.equal(servedHost('rebind.evil.example:9901', listener), false, `listener ${listener}: a domain name in Host`)
  }
  for (const listener of LOOPBACK) {
    t.equal(servedHost('rebind.evil.example:9901', listener), false, `listener ${listener}: a domain name in Host`)
    t.equal(servedHost(`${listener}:9901`, listener), true, `listener ${listener}: its own address in Host`)
  }
})

t.test('a listener named by a host name that merely begins with 127 is not on loopback', async (t) => {
  // only the dotted 127/8 addresses are loopback: '1270.corp.internal' or '127net.example' are names on the network,
  // whose listener (no token) must get the "not on loopback" warning and serve the service names scrapers use
  for (const host of ['1270.corp.internal', '127net.example', '127-admin.internal']) {
    t.equal(isLoopback(host), false, host)
    t.equal(servedHost('metrics.svc.cluster.local:9901', host), true, `listener ${host}: a service name in Host is served`)
  }
})

/** Whether this host lets a listener bind every 127/8 address (Linux routes all of it to lo; macOS only 127.0.0.1). */
async function bindsWholeRange (): Promise<boolean> {
  for (const host of LOOPBACK) {
    const probe = createServer()
    const bound = await new Promise<boolean>((resolve) => { probe.once('error', () => resolve(false)); probe.listen(0, host, () => resolve(true)) })
    probe.close()
    if (!bound) return false
  }
  return true
}
const wholeRange = await bindsWholeRange()

t.test('no token, an admin listener on any 127/8 address: a domain name in Host is refused, IP literals served', { skip: wholeRange ? false : 'this host binds only 127.0.0.1' }, async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  for (const listener of LOOPBACK) {
    const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
    t.teardown(() => gw.close())
    const admin = await gw.gateway.listenAdmin({ host: listener, port: 0 })
    const port = new URL(admin).port
    t.equal(new URL(admin).hostname, listener, 'listening where asked')
    t.equal(gw.logs.filter((l) => l.level >= 40 && l.host === listener).length, 0, `${listener}: no warning that the admin listener is exposed`)
    for (const [method, path] of [['GET', '/status'], ['GET', '/pools'], ['POST', '/reload']] as const) {
      const res = await adminRequest(admin, method, path, { host: `rebind.evil.example:${port}`, 'sec-fetch-site': 'same-origin' })
      t.equal(res.status, 403, `${listener}: ${method} ${path} with a domain name in Host`)
      t.equal(res.body.error, 'forbidden_origin', `${listener}: ${method} ${path}`)
    }
    for (const host of [`${listener}:${port}`, `localhost:${port}`]) {
      t.equal((await adminRequest(admin, 'GET', '/status', { host })).status, 200, `${listener}: Host ${host}`)
    }
    t.equal((await adminRequest(admin, 'GET', '/healthz', { host: `rebind.evil.example:${port}` })).status, 200, `${listener}: probes answer any Host`)
  }
})

t.test('no token, an admin listener named by a short form of a loopback address (127.1, 2130706433, 0x7f.1): guarded as loopback', async (t) => {
  // the resolver binds these to 127.0.0.1; the guard follows the address bound, not the spelling configured
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  for (const listener of ['127.1', '2130706433', '0x7f.1']) {
    const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
    t.teardown(() => gw.close())
    const admin = await gw.gateway.listenAdmin({ host: listener, port: 0 })
    const port = new URL(admin).port
    t.equal(gw.logs.filter((l) => l.level >= 40 && l.host === listener).length, 0, `${listener}: no warning that the admin listener is exposed`)
    const res = await adminRequest(admin, 'GET', '/status', { host: `rebind.evil.example:${port}` })
    t.equal(res.status, 403, `${listener}: a domain name in Host`)
    t.equal(res.body.error, 'forbidden_origin')
    t.equal((await adminRequest(admin, 'GET', '/status', { host: `127.0.0.1:${port}` })).status, 200, `${listener}: an IP literal in Host`)
  }
})

t.test('servedHost: the name a loopback listener was configured with is served, in any case; other names are not', async (t) => {
  t.equal(servedHost('vm:9901', '127.0.0.1', 'vm'), true)
  t.equal(servedHost('VM:9901', '127.0.0.1', 'vm'), true)
  t.equal(servedHost('vm.evil.example:9901', '127.0.0.1', 'vm'), false)
  t.equal(servedHost('vm:9901', '127.0.0.1'), false, 'a name no one configured')
  // a name made absolute with its root dot is the same name (RFC 1034 §3.1), on either side
  t.equal(servedHost('vm.:9901', '127.0.0.1', 'vm'), true)
  t.equal(servedHost('admin.corp.example:9901', '127.0.0.1', 'admin.corp.example.'), true)
  t.equal(servedHost('localhost.:9901', '127.0.0.1'), true)
  t.equal(servedHost('vm..:9901', '127.0.0.1', 'vm'), false)
})

const { lookup } = await import('node:dns/promises')
const { hostname } = await import('node:os')
/** This machine's name, if it resolves to a loopback address (Debian's /etc/hosts: 127.0.1.1). */
const loopbackName = await lookup(hostname()).then(({ address }) => isLoopback(address) ? hostname() : undefined, () => undefined)

t.test('no token, an admin listener configured by a name that resolves to loopback: guarded, and served by that name', { skip: loopbackName === undefined ? 'this machine\'s name is no loopback address' : false }, async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: loopbackName!, port: 0 })
  const port = new URL(admin).port
  t.equal((await adminRequest(admin, 'GET', '/status', { host: `rebind.evil.example:${port}` })).status, 403, 'a domain name in Host')
  t.equal((await adminRequest(admin, 'GET', '/status', { host: `${loopbackName!}:${port}` })).status, 200, 'the name it was configured with')
})

t.test('a second listenAdmin that fails leaves the running listener guarded as it was', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = new URL(admin).port
  await t.rejects(gw.gateway.listenAdmin({ host: '0.0.0.0', port: 0 }), 'already listening')
  const res = await adminRequest(admin, 'GET', '/status', { host: `rebind.evil.example:${port}` })
  t.equal(res.status, 403, 'still refused: the listener is the loopback one')
})
