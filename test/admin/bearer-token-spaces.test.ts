// RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]: one space or more separates
// the scheme from the token, so `Authorization: Bearer  <token>` (two spaces, as some hand-written clients and
// templated curl commands send) carries the token and is accepted; the spaces are not part of it. The token itself
// must still match exactly. Checked on bearerCheck and through a real admin listener.
import t from 'tap'
import { bearerCheck } from '../../src/admin/auth.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { adminRequest } from './admin-request.ts'

const TOKEN = 'admin-token-0123456789abcdef'

// [Authorization header, passes]
const CASES: [authorization: string, passes: boolean][] = [
  [`Bearer ${TOKEN}`, true],
  [`Bearer  ${TOKEN}`, true],
  [`Bearer   ${TOKEN}`, true],
  [`bearer  ${TOKEN}`, true],
  [`BEARER ${' '.repeat(8)}${TOKEN}`, true],
  [`Bearer  ${TOKEN}x`, false],
  [`Bearer  ${TOKEN.slice(1)}`, false],
  [`Bearer  x${TOKEN}`, false],
  ['Bearer  ', false],
  [`Bearer${TOKEN}`, false],
  [`Basic  ${TOKEN}`, false],
]

t.test('bearerCheck: one or more spaces after the scheme', async (t) => {
  const check = bearerCheck(() => TOKEN)
  for (const [authorization, passes] of CASES) t.equal(check(authorization), passes, JSON.stringify(authorization))
})

t.test('the admin listener: one or more spaces after the scheme', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: TOKEN } }, { defaultMetrics: false, env: {} })
  t.teardown(async () => { await gw.close(); await u.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  for (const [authorization, passes] of CASES) {
    const res = await adminRequest(admin, 'GET', '/status', { authorization })
    t.equal(res.status, passes ? 200 : 401, JSON.stringify(authorization))
    if (!passes) t.equal(res.body.error, 'unauthorized', JSON.stringify(authorization))
  }
})
