// A read-after-write token is signed for the route's id (host, path, methods, headers), not its path alone: a
// token from a write on a.example/m pins nothing on b.example/m, though both cookies have Path=/m. Before, the
// two routes accepted each other's tokens. A route matched by its path alone signs the path as before, so during a
// rolling upgrade replicas of either version accept each other's tokens for it.
import t from 'tap'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'

const SECRET = 'a-shared-secret-of-32-characters!!'
const NOW = 1_750_000_000_000
const raw = (routeId?: string): ReadAfterWrite =>
  new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 30_000, routePath: '/m', ...(routeId !== undefined ? { routeId } : {}), now: () => NOW })

t.test('a token pins only the route it was signed for', async (t) => {
  const a = raw('a.example/m')
  const b = raw('b.example/m')
  const token = a.token()
  t.equal(a.pinnedToPrimary(undefined, token), true, 'a.example/m: pinned')
  t.equal(a.pinnedToPrimary(`sy_rw=${token}`, undefined), true, 'a.example/m: pinned by the cookie too')
  t.equal(b.pinnedToPrimary(undefined, token), false, 'b.example/m: not pinned by a.example/m\'s token')
  t.equal(b.pinnedToPrimary(`sy_rw=${token}`, undefined), false, 'nor by its cookie')
  t.equal(raw('a.example/m [POST]').pinnedToPrimary(undefined, token), false, 'another route on the same host and path')
  t.equal(raw().pinnedToPrimary(undefined, token), false, 'the route of any host')
  t.match(a.setCookieHeader(token), /; Path=\/m;/, 'the cookie\'s Path is the route path')
})

t.test('a route matched by its path alone signs its path, as tokens did before', async (t) => {
  const byPath = raw('*/m')
  t.equal(byPath.pinnedToPrimary(undefined, raw().token()), true, 'the default route id is the path-only route\'s')
  t.equal(raw().pinnedToPrimary(undefined, byPath.token()), true)
})
