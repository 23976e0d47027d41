// The Authorization scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` and `Bearer` all carry the token.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const TOKEN = 'admin-token-0123456789'

t.test('the bearer scheme in any case is accepted; the token itself is still compared exactly', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  // a standby (never contacted) so that a failback is accepted: a pool without backups refuses it 409
  const gw = await startGateway({ pools: { pay: { targets: [u.url, { url: 'http://127.0.0.1:1', backup: true }] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: TOKEN } }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const failback = (authorization: string) => fetch(`${admin}/pools/pay/failback`, { method: 'POST', headers: { authorization } })
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    t.equal((await failback(`${scheme} ${TOKEN}`)).status, 200, scheme)
  }
  const wrong = await failback(`bearer ${TOKEN.toUpperCase()}`)
  t.equal(wrong.status, 401)
  t.equal((await wrong.json() as { error: string }).error, 'unauthorized')
  t.equal((await failback(`bearer${TOKEN}`)).status, 401, 'no space after the scheme')
})
