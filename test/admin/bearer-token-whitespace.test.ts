// A token read from a file ends in a newline (a Kubernetes Secret made with --from-file of `openssl rand -hex 32 > f`,
// or readFileSync in routes.config.ts), which no Authorization header can carry: the expected token is compared as
// the given one is, without surrounding whitespace. A token of whitespace only then matches nothing, never `Bearer `.
import t from 'tap'
import { bearerCheck } from '../../src/admin/auth.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const TOKEN = 'admin-token-0123456789abcdef'

t.test('a configured token with a trailing newline is matched by the header that carries the token', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: `${TOKEN}\n` } }, { defaultMetrics: false, env: {} })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const status = (headers: Record<string, string>): Promise<number> => fetch(`${admin}/status`, { headers }).then(async (r) => { await r.arrayBuffer(); return r.status })
  t.equal(await status({ authorization: `Bearer ${TOKEN}` }), 200)
  t.equal(await status({ authorization: `Bearer ${TOKEN}x` }), 401, 'another token still fails')
  t.equal(await status({}), 401, 'no token still fails')
})

t.test('the comparison, case by case', async (t) => {
  // [token in force, Authorization header, passes]
  const cases: Array<[string, string | undefined, boolean]> = [
    [`${TOKEN}\n`, `Bearer ${TOKEN}`, true],
    [`\t${TOKEN}\r\n`, `Bearer ${TOKEN}`, true],
    [TOKEN, `Bearer ${TOKEN} `, true],
    [`${TOKEN}\n`, `Bearer ${TOKEN.slice(1)}`, false],
    [`${TOKEN}\n`, undefined, false],
    ['                \n', 'Bearer ', false],
    ['                \n', 'Bearer                 ', false],
    ['                \n', undefined, false],
  ]
  for (const [token, authorization, passes] of cases) {
    t.equal(bearerCheck(() => token)(authorization), passes, `${JSON.stringify(token)} / ${JSON.stringify(authorization)}`)
  }
})

// The environment's token wins over the file's as read without surrounding whitespace: a value of whitespace only
// is no token (the start refuses it; an embedding process calling buildGateway is not refused), so the file's token
// stays the one in force, not a blank one no header can match that would shut every admin call out.
t.test('an environment token of whitespace only leaves the file\'s token in force', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }], admin: { token: TOKEN } }, { defaultMetrics: false, env: { SWITCHYARD_ADMIN_TOKEN: '   \n' } })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const status = (headers: Record<string, string>): Promise<number> => fetch(`${admin}/status`, { headers }).then(async (r) => { await r.arrayBuffer(); return r.status })
  t.equal(await status({ authorization: `Bearer ${TOKEN}` }), 200, 'the file\'s token opens /status')
  t.equal(await status({}), 401, 'and a call without it is still refused')
})

// Whitespace only with no token in the file: the admin listener stays closed (every guarded call 401), never open.
// The start refuses such a value; an embedding process calling buildGateway is not refused, and must not get an
// admin listener anyone can drive because its secret came out blank. An empty value is unset, as the start takes it
// (compose's `SWITCHYARD_ADMIN_TOKEN=${UNSET}`): no token, a loopback listener served as without one.
t.test('an environment token of whitespace only and no file token: every guarded call is refused; an empty one is unset', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  for (const [value, guarded] of [['   \n', 401], ['', 200]] as const) {
    const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: { SWITCHYARD_ADMIN_TOKEN: value } })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    t.teardown(() => gw.close())
    const status = (headers: Record<string, string>): Promise<number> => fetch(`${admin}/status`, { headers }).then(async (r) => { await r.arrayBuffer(); return r.status })
    t.equal(await status({}), guarded, `${JSON.stringify(value)}: no Authorization`)
    t.equal(await status({ authorization: 'Bearer ' }), guarded, `${JSON.stringify(value)}: an empty bearer`)
    t.equal((await fetch(`${admin}/healthz`)).status, 200, 'the probes stay open')
  }
})
