// In a rolling upgrade, replicas of the previous version and this one serve one split route side by side and must
// accept each other's read-your-writes tokens. Routes matched by their path alone sign exactly what tokens were signed
// with before routes were signed by id: HMAC-SHA256(secret, "sy_rw v1\n" + path + "\n" + expiry), base64url. Any
// other route (host, methods or headers) signs its id instead, which never starts with '/'. Pins
// src/release/read-after-write.ts's scope (line 96: `routeId === `*${routePath}` ? routePath : routeId`).
import { createHmac } from 'node:crypto'
import t from 'tap'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'

const NOW = 1_750_000_000_000
const SECRET = 'a shared secret of every replica'
const sign = (scope: string, expires: number): string => createHmac('sha256', SECRET).update(`sy_rw v1\n${scope}\n${expires}`).digest('base64url')

t.test('tokens are signed over the path (path-only routes) or the route id (others)', async (t) => {
  const cases: [routePath: string, routeId: string | undefined, signed: string][] = [
    ['/orders', undefined, '/orders'],
    ['/orders', '*/orders', '/orders'], // the id of a path-only route: still the path alone
    ['/orders', 'api.example.com/orders', 'api.example.com/orders'],
    ['/orders', '*/orders [POST]', '*/orders [POST]'],
  ]
  for (const [routePath, routeId, signed] of cases) {
    const raw = new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 3000, routePath, now: () => NOW, ...(routeId === undefined ? {} : { routeId }) })
    const expires = NOW + 3000
    t.equal(raw.token(), `${expires}.${sign(signed, expires)}`, `${routeId ?? '(no id)'} signs ${JSON.stringify(signed)}`)
    // and a token an older replica minted the same way pins here
    t.equal(raw.pinnedToPrimary(undefined, `${expires - 1}.${sign(signed, expires - 1)}`), true, `${routeId ?? '(no id)'} accepts it`)
  }
})
