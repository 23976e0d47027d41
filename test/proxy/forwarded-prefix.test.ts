// A route that strips its prefix sets X-Forwarded-Prefix to what it removed, after what a trusted proxy had already
// removed (Traefik's StripPrefix, Spring Cloud Gateway's): frameworks build links and redirects as prefix + path, so
// without it a redirect to /login left the route, and a trusted proxy's `/edge` alone named a URL the client never
// used (review r36c). A client that is no trusted proxy cannot set it, and a route that strips nothing sets none.
import t from 'tap'
import type { Echo } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

async function seen (port: number, path: string, extra: string[] = []): Promise<Echo> {
  const res = await rawRequest(port, [`GET ${path} HTTP/1.1`, 'Host: shop.example', 'Connection: close', ...extra, '', ''].join('\r\n'))
  if (res.status !== 200) throw new Error(`status ${res.status}`)
  return res.json<Echo>()
}

t.test('a stripped prefix is told to the upstream', async (t) => {
  const u = await upstream(t, 'u')
  const routes = [{ path: '/api/v2', pool: 'p', stripPrefix: true }, { path: '/static/', pool: 'p', stripPrefix: true }, { path: '/', pool: 'p' }]
  const untrusted = await gateway(t, { pools: { p: { targets: [u.url] } }, routes })
  const trusted = await gateway(t, { server: { trustedProxies: ['127.0.0.1'] }, pools: { p: { targets: [u.url] } }, routes })

  const plain = await seen(portOf(untrusted.url), '/api/v2/orders?id=7')
  t.equal(plain.url, '/orders?id=7')
  t.equal(plain.headers['x-forwarded-prefix'], '/api/v2')
  t.equal((await seen(portOf(untrusted.url), '/static/a.css')).headers['x-forwarded-prefix'], '/static', "a route path's trailing slash is not part of it")
  t.equal((await seen(portOf(untrusted.url), '/api/v2/x', ['X-Forwarded-Prefix: /forged'])).headers['x-forwarded-prefix'], '/api/v2', "an untrusted client's is replaced")
  t.equal((await seen(portOf(untrusted.url), '/other', ['X-Forwarded-Prefix: /forged'])).headers['x-forwarded-prefix'], undefined, 'nothing stripped, none set (and a client\'s dropped)')

  t.equal((await seen(portOf(trusted.url), '/api/v2/orders', ['X-Forwarded-Prefix: /edge/'])).headers['x-forwarded-prefix'], '/edge/api/v2', "a trusted proxy's prefix comes first")
  t.equal((await seen(portOf(trusted.url), '/api/v2/orders', ['X-Forwarded-Prefix: /a, /b', 'X-Forwarded-Prefix: /c'])).headers['x-forwarded-prefix'], '/a/b/c/api/v2', 'its values joined in order')
  t.equal((await seen(portOf(trusted.url), '/other', ['X-Forwarded-Prefix: /edge'])).headers['x-forwarded-prefix'], '/edge', "nothing stripped: a trusted proxy's passes as it was")
})
