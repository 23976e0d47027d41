// What a hash key or a canary's stickiness reads from the request. `ip` behind a trusted proxy (an ingress, a cloud
// load balancer: server.trustedProxies) is the client its X-Forwarded-For names, as nginx's real_ip and Envoy's
// trusted hops read it; before, every client behind the proxy shared the proxy's address: one target took all of
// them, and a canary at weight 50 was all or nothing. From an untrusted peer, X-Forwarded-For changes nothing. A
// header sent on two lines keys by its first line, as a single one would (before: Node's joined 'a, b').
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { startUpstreams } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'

async function spread (t: Test, config: (urls: string[]) => GatewayConfig, headersOf: (i: number) => Record<string, string | string[]>, count = 40): Promise<Map<string, string>> {
  const upstreams = await startUpstreams(4)
  t.teardown(() => Promise.all(upstreams.map((u) => u.close())))
  const gw = await startGateway(config(upstreams.map((u) => u.url)), { defaultMetrics: false })
  t.teardown(() => gw.close())
  const answered = new Map<string, string>()
  for (let i = 0; i < count; i++) {
    const res = await httpRequest(`${gw.url}/app/x`, { headers: headersOf(i) })
    t.equal(res.status, 200)
    answered.set(String(i), res.echo().name)
  }
  return answered
}

const hashPool = (urls: string[], trustedProxies: string[], key: string): GatewayConfig => ({
  server: { trustedProxies },
  pools: { app: { targets: urls, balancer: { type: 'hash', key } } },
  routes: [{ path: '/app', pool: 'app' }],
})

const clients = (i: number): Record<string, string> => ({ 'x-forwarded-for': `198.51.100.${i + 1}` })

t.test('key ip behind a trusted proxy: the clients it names spread over the targets', async (t) => {
  const answered = await spread(t, (urls) => hashPool(urls, ['127.0.0.1'], 'ip'), clients)
  t.ok(new Set(answered.values()).size >= 3, `40 clients over 4 targets: ${[...new Set(answered.values())].join(',')}`)
})

t.test('key ip behind a trusted proxy: one client keeps its target whatever the proxy chain in front says', async (t) => {
  // the rightmost untrusted address decides: a spoofed entry further left (sent by the client itself) changes nothing
  const answered = await spread(t, (urls) => hashPool(urls, ['127.0.0.1', '10.0.0.0/8'], 'ip'), (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}, 198.51.100.7, 10.1.2.3` }), 12)
  t.equal(new Set(answered.values()).size, 1, 'one client, one target')
})

t.test('key ip behind a trusted proxy: one client in any spelling or with any port keeps its target', async (t) => {
  const spellings = ['203.0.113.7', '203.0.113.7:50000', '203.0.113.7:50001', '::ffff:203.0.113.7', '[::FFFF:cb00:7107]:443']
  const answered = await spread(t, (urls) => hashPool(urls, ['127.0.0.1'], 'ip'), (i) => ({ 'x-forwarded-for': spellings[i % spellings.length]! }), 10)
  t.equal(new Set(answered.values()).size, 1, 'one client, one target')
})

t.test('key ip from an untrusted peer: its X-Forwarded-For is not the client', async (t) => {
  const answered = await spread(t, (urls) => hashPool(urls, [], 'ip'), clients, 12)
  t.equal(new Set(answered.values()).size, 1, 'every request is the peer\'s: one target')
})

t.test('canary stickyBy ip behind a trusted proxy follows the weight', async (t) => {
  const answered = await spread(t, ([a, b]) => ({
    server: { trustedProxies: ['127.0.0.1'] },
    pools: { stable: { targets: [a!] }, next: { targets: [b!] } },
    routes: [{ path: '/app', pool: 'stable', canary: { pool: 'next', weight: 50, stickyBy: 'ip' } }],
  }), clients)
  const next = [...answered.values()].filter((n) => n === 'u2').length
  t.ok(next >= 8 && next <= 32, `about half of 40 clients on the canary: ${next}`)
})

t.test('a header key sent on two lines keys by its first', async (t) => {
  const upstreams = await startUpstreams(4)
  t.teardown(() => Promise.all(upstreams.map((u) => u.close())))
  const gw = await startGateway(hashPool(upstreams.map((u) => u.url), [], 'header:x-user-id'), { defaultMetrics: false })
  t.teardown(() => gw.close())
  let moved = 0
  for (let i = 0; i < 20; i++) {
    const once = (await httpRequest(`${gw.url}/app/x`, { headers: { 'x-user-id': `user-${i}` } })).echo().name
    const twice = (await httpRequest(`${gw.url}/app/x`, { headers: { 'x-user-id': [`user-${i}`, `extra-${i}`] } })).echo().name
    // one line whose value holds a comma is one value, whole
    const comma = (await httpRequest(`${gw.url}/app/x`, { headers: { 'x-user-id': `user-${i},x` } })).echo().name
    const commaTwice = (await httpRequest(`${gw.url}/app/x`, { headers: { 'x-user-id': [`user-${i},x`, 'other'] } })).echo().name
    if (once !== twice || comma !== commaTwice) moved++
  }
  t.equal(moved, 0, 'no user moved by a second line')
})

t.test('a force header sent on two lines forces by its first', async (t) => {
  const answered = await spread(t, ([a, b]) => ({
    pools: { stable: { targets: [a!] }, next: { targets: [b!] } },
    routes: [{ path: '/app', pool: 'stable', canary: { pool: 'next', weight: 0, force: { header: 'x-canary', values: ['always'] } } }],
  }), (i) => ({ 'x-canary': i % 2 === 0 ? ['always', 'always'] : ['always', 'never'] }), 6)
  t.strictSame([...new Set(answered.values())], ['u2'], 'every request forced onto the canary')
})
