// An IPv6 address has many spellings ('[::1]', '[0::1]', '[0:0:0:0:0:0:0:1]', upper-case hex) and an IPv4 one has an
// IPv4-mapped IPv6 one ('[::ffff:127.0.0.1]'): one address all the same (RFC 4291 §2.2, §2.5.5.2). A route's host,
// an admin action's :target and a pool's targets are compared as addresses, not as text (src/ip.ts canonicalIp).
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { RoutingTable, routeIdOf } from '../../src/routing/table.ts'
import { adminRequest } from '../admin/admin-request.ts'
import { startGateway } from '../helpers/gateway.ts'
import { baseConfig, problemPaths, problemsOf } from './problems.ts'

async function upstream (name: string): Promise<Server> {
  const server = createServer((req, res) => { req.resume(); res.end(name) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

function get (base: string, path: string, host: string): Promise<string> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a route bound to an IPv6 literal matches every spelling of it, and keeps one id', async (t) => {
  const spec = (host: string) => ({ path: '/one', host, pool: 'bound', stripPrefix: false })
  const spellings = ['[::1]', '[0::1]', '[0:0:0:0:0:0:0:1]', '[0000:0000::0001]']
  for (const routeHost of spellings) {
    const table = new RoutingTable([spec(routeHost), { path: '/one', pool: 'any', stripPrefix: false }])
    for (const requestHost of spellings) {
      t.equal(table.match('/one', 'GET', `${requestHost}:8080`)?.route.pool, 'bound', `route ${routeHost}, Host ${requestHost}:8080`)
    }
    t.equal(table.match('/one', 'GET', '[::2]:8080')?.route.pool, 'any', 'another address is another host')
    t.equal(routeIdOf(spec(routeHost)), '[::1]/one', `${routeHost}: the id is the canonical one`)
  }
  const upper = new RoutingTable([spec('[2001:DB8::A]'), { path: '/one', pool: 'any', stripPrefix: false }])
  t.equal(upper.match('/one', 'GET', '[2001:db8:0:0:0:0:0:a]')?.route.pool, 'bound', 'hex case and zeros mean nothing')
  // an IPv4-mapped literal is that IPv4 address, which is the Host its clients send
  const mapped = new RoutingTable([spec('[::ffff:127.0.0.1]'), { path: '/one', pool: 'any', stripPrefix: false }])
  t.equal(mapped.match('/one', 'GET', '127.0.0.1:8080')?.route.pool, 'bound')
  t.equal(mapped.match('/one', 'GET', '[::FFFF:7f00:1]:8080')?.route.pool, 'bound')
  // what is no address stays text: a zone id is not dropped, and garbage is not an error
  const table = new RoutingTable([spec('[fe80::1]'), { path: '/one', pool: 'any', stripPrefix: false }])
  for (const host of ['[fe80::1%25eth0]:80', '[fe80::1', '[zz]:80', '[]']) t.equal(table.match('/one', 'GET', host)?.route.pool, 'any', host)

  // two routes that differ only in the spelling of their host are one route twice
  t.strictSame(problemPaths(baseConfig({ routes: [{ path: '/a', pool: 'a', host: '[::1]' }, { path: '/a', pool: 'b', host: '[0:0:0:0:0:0:0:1]' }] })), ['routes[1]'])

  // end to end: Node sends 'Host: [::1]:PORT' for http://[::1]:PORT/
  const bound = await upstream('bound')
  const any = await upstream('any')
  t.teardown(() => { bound.close(); any.close() })
  const gw = await startGateway({
    pools: { bound: { targets: [`http://127.0.0.1:${(bound.address() as AddressInfo).port}`] }, any: { targets: [`http://127.0.0.1:${(any.address() as AddressInfo).port}`] } },
    routes: [{ path: '/one', host: '[0:0:0:0:0:0:0:1]', pool: 'bound' }, { path: '/two', host: '[::1]', pool: 'bound' }, { path: '/', pool: 'any' }],
  }, { defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  t.equal(await get(gw.url, '/one', '[::1]:8080'), 'bound')
  t.equal(await get(gw.url, '/two', '[0::1]:8080'), 'bound')
  t.equal(await get(gw.url, '/two', '[::2]:8080'), 'any')
  t.strictSame(gw.gateway.status().routes.map((r) => r.id), ['[::1]/one', '[::1]/two', '*/'])
})

t.test('an admin target action takes any spelling of the target, as the config writes it or as /status prints it', async (t) => {
  const gw = await startGateway({
    pools: { p: { targets: ['http://[0:0:0:0:0:0:0:1]:4711', 'http://[2001:DB8::1]:80', 'http://Svc.Example:8080', 'http://127.0.0.1:4712'] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const names: [name: string, id: string][] = [
    ['[::1]:4711', '[::1]:4711'],
    ['[0:0:0:0:0:0:0:1]:4711', '[::1]:4711'],
    ['http://[0:0:0:0:0:0:0:1]:4711', '[::1]:4711'],
    ['HTTP://[0::1]:4711/', '[::1]:4711'],
    ['[2001:DB8::1]:80', '[2001:db8::1]:80'],
    ['[2001:db8:0:0:0:0:0:1]:80', '[2001:db8::1]:80'],
    ['http://[2001:DB8::1]:80', '[2001:db8::1]:80'],
    ['[2001:DB8::1]', '[2001:db8::1]:80'],
    ['SVC.example:8080', 'svc.example:8080'],
    ['[::ffff:127.0.0.1]:4712', '127.0.0.1:4712'],
  ]
  for (const [name, id] of names) {
    const drained = await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(name)}/drain`)
    t.equal(drained.status, 200, name)
    t.equal((drained.body.target as { id?: string } | undefined)?.id, id, name)
    t.equal((await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(id)}/enable`)).status, 200)
  }
  for (const name of ['[::2]:4711', '[::1]:4712', 'http://[::1]:4711/x', '::1:4711', '[fe80::1%25eth0]:4711']) {
    const missed = await adminRequest(admin, 'POST', `/pools/p/targets/${encodeURIComponent(name)}/drain`)
    t.equal(missed.status, 404, name)
    t.equal(missed.body.error, 'unknown_target', name)
  }
})

t.test('an IPv4-mapped IPv6 target is refused, with the IPv4 address to write instead', async (t) => {
  const config = baseConfig({ pools: { a: { targets: ['http://127.0.0.1:3000', 'http://[::ffff:127.0.0.1]:3000', { url: 'https://[::FFFF:7F00:2]' }, 'http://[::1]:3000', 'http://[::127.0.0.1]:3000'] } } })
  t.strictSame(problemsOf(config), [
    "pools.a.targets[1]: must not be an IPv4-mapped IPv6 address: write the IPv4 address ('http://127.0.0.1:3000')",
    "pools.a.targets[2].url: must not be an IPv4-mapped IPv6 address: write the IPv4 address ('https://127.0.0.2')",
  ])
})

t.test('a target with an IPv6 zone id is told that zone ids are not supported', async (t) => {
  const config = baseConfig({ pools: { a: { targets: ['http://[fe80::1%25eth0]:3000', { url: 'http://[FE80::1%eth0]' }, 'http://[nope%]:1', 'http//x'] } } })
  t.strictSame(problemsOf(config), [
    "pools.a.targets[0]: IPv6 zone ids ('%25eth0') are not supported: write a global or unique-local address, not a link-local one",
    "pools.a.targets[1].url: IPv6 zone ids ('%eth0') are not supported: write a global or unique-local address, not a link-local one",
    'pools.a.targets[2]: must be an http:// or https:// URL',
    'pools.a.targets[3]: must be an http:// or https:// URL',
  ])
})
