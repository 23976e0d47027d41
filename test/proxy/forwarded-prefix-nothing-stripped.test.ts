// Belongs in test/proxy/. Gaps found by mutation testing (review r36, mutants AF68, AF69; src/proxy/front.ts): a
// route that strips nothing sets no X-Forwarded-Prefix, whether it strips '/' (nothing is removed: a '/' prefix
// would make frameworks build '//login') or keeps a longer prefix; a trusted proxy's value passes as it came.
import t from 'tap'
import type { Echo } from '../helpers/upstream.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

async function seen (port: number, path: string, extra: string[] = []): Promise<Echo> {
  const res = await rawRequest(port, [`GET ${path} HTTP/1.1`, 'Host: shop.example', 'Connection: close', ...extra, '', ''].join('\r\n'))
  if (res.status !== 200) throw new Error(`status ${res.status}`)
  return res.json<Echo>()
}

t.test('a route that strips nothing sets no X-Forwarded-Prefix', async (t) => {
  const u = await upstream(t, 'u')
  const routes = [{ path: '/keep', pool: 'p' }, { path: '/', pool: 'p', stripPrefix: true }]
  const plain = await gateway(t, { pools: { p: { targets: [u.url] } }, routes })
  const trusted = await gateway(t, { server: { trustedProxies: ['127.0.0.1'] }, pools: { p: { targets: [u.url] } }, routes })

  const kept = await seen(portOf(plain.url), '/keep/a')
  t.equal(kept.url, '/keep/a')
  t.equal(kept.headers['x-forwarded-prefix'], undefined, 'a longer prefix kept in the path: none')
  const root = await seen(portOf(plain.url), '/other')
  t.equal(root.url, '/other')
  t.equal(root.headers['x-forwarded-prefix'], undefined, "stripping '/' removes nothing: none")

  t.equal((await seen(portOf(trusted.url), '/keep/a', ['X-Forwarded-Prefix: /edge/'])).headers['x-forwarded-prefix'], '/edge/', "a trusted proxy's passes as it came")
  t.equal((await seen(portOf(trusted.url), '/other', ['X-Forwarded-Prefix: /edge/'])).headers['x-forwarded-prefix'], '/edge/', "also through a route stripping '/'")
})
