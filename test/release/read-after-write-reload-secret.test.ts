// A reload that changes the secret keeps the pins of recent writes: a client that wrote just before the change still
// reads from the primary (its cookie, or the header it was given), until its window ends. Before, the reload dropped
// every pin at once, sending those clients to replicas that may not have their write yet. The same holds when that
// reload also names the route (or renames it): its tokens are signed for the route's id, which a name leaves alone,
// and the earlier secret was looked up by the name.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('a pin from before a secret change still holds after it; new writes are signed with the new secret', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const config = (secret: string): GatewayConfig => ({
    secret,
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } }],
  })
  let next = config('the-first-secret-of-32-characters')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', body: '{}' })
  const cookie = write.headers['set-cookie']!.find((c) => c.startsWith('sy_rw='))!.split(';')[0]!
  const token = write.headers['x-read-after-write'] as string
  const servedBy = async (headers: Record<string, string>): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers })).echo().name
  t.equal(await servedBy({ cookie }), 'primary')
  next = config('the-second-secret-of-32-characters')
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(await servedBy({ cookie }), 'primary', 'the cookie still pins')
  t.equal(await servedBy({ 'x-read-after-write': token }), 'primary', 'and so does the header')
  t.equal(await servedBy({}), 'replica', 'other reads go to the replica')
  const after = await httpRequest(`${gw.url}/m/1`, { method: 'POST', body: '{}' })
  t.equal(await servedBy({ 'x-read-after-write': after.headers['x-read-after-write'] as string }), 'primary', 'a new write pins too')
})

t.test('a pin from before a secret change holds when the same reload names the route', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const config = (secret: string, name?: string): GatewayConfig => ({
    secret,
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ ...(name === undefined ? {} : { name }), path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } }],
  })
  let next = config('the-first-secret-of-32-characters')
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const servedBy = async (headers: Record<string, string>): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers })).echo().name
  for (const name of ['member', 'members']) {
    const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', body: '{}' })
    const token = write.headers['x-read-after-write'] as string
    next = config(`a-secret-for-the-route-${name}-of-32-characters`, name)
    t.equal((await gw.gateway.reload()).result, 'success')
    t.equal(await servedBy({ 'x-read-after-write': token }), 'primary', `pinned after the route is named ${name}`)
    t.equal(await servedBy({}), 'replica', 'other reads go to the replica')
  }
})

// A named route keeps its pins through a reload that changes its methods, host or headers (which its tokens are
// signed for): the earlier scope's tokens stay valid until they expire, as an earlier secret's do. Before, an
// operator adding PATCH to a split route sent every client that had just written to a replica for the window's
// rest. New writes are signed for the new scope; another route's tokens still pin nothing.
type Method = NonNullable<GatewayConfig['routes'][number]['methods']>[number]

t.test('a named route keeps its pins when a reload changes its methods, then its headers', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const config = (methods: Method[], headers?: Record<string, string>, name: string | null = 'kv'): GatewayConfig => ({
    secret: 'the-first-secret-of-32-characters',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [
      { ...(name === null ? {} : { name }), path: '/m', methods, ...(headers === undefined ? {} : { headers }), pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } },
      { name: 'other', path: '/o', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } },
    ],
  })
  let next = config(['GET', 'PUT'])
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  const write = async (path = '/m/1'): Promise<string> => (await httpRequest(`${gw.url}${path}`, { method: 'PUT', body: '{}', headers: { 'x-tenant': 'a' } })).headers['x-read-after-write'] as string
  const servedBy = async (token: string): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers: { 'x-read-after-write': token, 'x-tenant': 'a' } })).echo().name
  const first = await write()
  const others = await write('/o/1')
  next = config(['GET', 'PUT', 'PATCH'])
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(await servedBy(first), 'primary', 'methods changed: still pinned')
  t.equal(await servedBy(others), 'replica', "another route's token pins nothing")
  const second = await write()
  next = config(['GET', 'PUT', 'PATCH'], { 'x-tenant': 'a' })
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(await servedBy(first), 'primary', 'headers changed too: the first write still pinned')
  t.equal(await servedBy(second), 'primary', 'and the second')
  t.equal(await servedBy(await write()), 'primary', 'a new write pins')
  // unnamed, the route is its id: a reload that changes that makes another route, whose pins start afresh
  next = config(['GET', 'PUT'], undefined, null)
  t.equal((await gw.gateway.reload()).result, 'success')
  const unnamed = await write()
  next = config(['GET', 'PUT', 'PATCH'], undefined, null)
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(await servedBy(unnamed), 'replica', 'an unnamed route with other methods is another route')
})

// The same for an unnamed route with a canary: the canary's state follows the route to its new id (one route left on
// that path with the same canary), but its read-your-writes pins do not: a route with another id is another route.
// Before, they came along with the canary's plan, so a.example/x's tokens pinned reads on b.example/x.
t.test('an unnamed route with a canary: a reload changing its methods starts its pins afresh', async (t) => {
  const [primary, replica, next] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' }), TestUpstream.start({ name: 'next' })])
  t.teardown(() => Promise.all([primary.close(), replica.close(), next.close()]))
  const config = (methods: Method[]): GatewayConfig => ({
    secret: 'the-first-secret-of-32-characters',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] }, next: { targets: [next.url] } },
    routes: [{ path: '/m', methods, pool: 'primary', canary: { pool: 'next', weight: 0 }, reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } }],
  })
  let nextConfig = config(['GET', 'PUT'])
  const gw = await startGateway(nextConfig, { defaultMetrics: false, load: async () => validateConfig(nextConfig) })
  t.teardown(() => gw.close())
  const token = (await httpRequest(`${gw.url}/m/1`, { method: 'PUT', body: '{}' })).headers['x-read-after-write'] as string
  const servedBy = async (): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers: { 'x-read-after-write': token } })).echo().name
  t.equal(await servedBy(), 'primary', 'pinned')
  nextConfig = config(['GET', 'PUT', 'PATCH'])
  t.equal((await gw.gateway.reload()).result, 'success')
  t.equal(await servedBy(), 'replica', 'another route now: its pins start afresh')
})
