// Refused admin calls are seen and say what would pass, and a token that could never be sent is refused at load:
// - a 401 carries WWW-Authenticate (RFC 9110 §11.6.1, RFC 6750 §3); it had none;
// - a call refused for its token or origin is logged at warn with its peer, reads too: 200 wrong-token GET /status
//   calls left no trace (only POSTs were logged);
// - an admin token with characters an Authorization header cannot carry (non-ASCII, control characters) is refused,
//   in the file and in SWITCHYARD_ADMIN_TOKEN: accepted, it locked the admin API for good (Node reads header bytes
//   as Latin-1, browsers refuse to send them).
import t from 'tap'
import { envSecretsProblem } from '../../src/cli/start-errors.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { problemsOf } from '../config/problems.ts'

t.test('a refused call is logged and its 401 names the scheme', async (t) => {
  const u = await TestUpstream.start()
  const config: GatewayConfig = { admin: { token: 'the-right-token-0123' }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const gw = await startGateway(config, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await u.close() })
  const res = await fetch(`${admin}/status?x=1`, { headers: { authorization: 'Bearer a-wrong-guess-0000' } })
  await res.arrayBuffer()
  t.equal(res.status, 401)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="switchyard"')
  const ok = await fetch(`${admin}/status`, { headers: { authorization: 'Bearer the-right-token-0123' } })
  await ok.arrayBuffer()
  t.equal(ok.status, 200)
  const calls = gw.logs.filter((l) => l.msg === 'admin call')
  t.equal(calls.length, 1, 'the refused read is logged, the granted one is not')
  t.match(calls[0], { level: 40, method: 'GET', path: '/status', status: 401, peer: /127\.0\.0\.1/ })
})

t.test('an admin token no header can carry is refused', async (t) => {
  for (const token of ['geheimes-€-passwort-2026', 'tab\tinside-the-token-0123', 'nul\u0000inside-the-token-0123']) {
    t.match(problemsOf({ admin: { token }, pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }), [/^admin\.token: must be printable ASCII/], JSON.stringify(token))
    t.match(envSecretsProblem({ SWITCHYARD_ADMIN_TOKEN: token }), /^SWITCHYARD_ADMIN_TOKEN: must be printable ASCII/)
  }
  t.same(problemsOf({ admin: { token: 'a token with spaces and !#$%&*' }, pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }), [], 'printable ASCII with spaces passes')
  t.equal(envSecretsProblem({ SWITCHYARD_ADMIN_TOKEN: 'printable-token-0123\n' }), undefined, 'a trailing newline is trimmed, as before')
})

// A read refused 403 for its origin is logged at warn, as a 401 is, and carries no WWW-Authenticate (only a 401
// names a scheme); the logged path of a refused call is the path alone, its query (an access token) left out.
t.test('admin-refusals-logged-more', async (t) => {
  t.test('a read refused 403 for its origin is logged at warn, without WWW-Authenticate', async (t) => {
    const u = await TestUpstream.start()
    const config: GatewayConfig = { admin: { token: 'the-right-token-0123' }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
    const gw = await startGateway(config, { defaultMetrics: false })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    t.teardown(async () => { await gw.close(); await u.close() })
    const res = await fetch(`${admin}/status`, { headers: { authorization: 'Bearer the-right-token-0123', 'sec-fetch-site': 'cross-site' } })
    await res.arrayBuffer()
    t.equal(res.status, 403)
    t.equal(res.headers.get('www-authenticate'), null, 'a 403 names no scheme: a token would not help')
    const calls = gw.logs.filter((l) => l.msg === 'admin call')
    t.equal(calls.length, 1, 'the refused read is logged')
    t.match(calls[0], { level: 40, method: 'GET', status: 403 }, 'at warn')
  })

  t.test("a refused call's logged path leaves its query out", async (t) => {
    const u = await TestUpstream.start()
    const config: GatewayConfig = { admin: { token: 'the-right-token-0123' }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
    const gw = await startGateway(config, { defaultMetrics: false })
    const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    t.teardown(async () => { await gw.close(); await u.close() })
    const res = await fetch(`${admin}/status?access_token=a-leaked-guess-9999`, { headers: { authorization: 'Bearer a-wrong-guess-0000' } })
    await res.arrayBuffer()
    t.equal(res.status, 401)
    const calls = gw.logs.filter((l) => l.msg === 'admin call')
    t.equal(calls.length, 1)
    t.equal(calls[0]!.path, '/status', 'the path alone')
    t.notOk(JSON.stringify(gw.logs).includes('a-leaked-guess-9999'), 'the query is nowhere in the log')
  })
})

// The admin token's character rule at its edges: DEL (0x7f) is a control character no header carries (Node refuses
// it in a header value); the file's token is judged without its surrounding whitespace (a token file's trailing
// newline), as SWITCHYARD_ADMIN_TOKEN is; the cookie secret never goes in a header, and keeps any character.
t.test('admin-token-characters-edges', async (t) => {
  const withToken = (token: string): Record<string, unknown> => ({ admin: { token }, pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] })

  t.test('DEL is refused, in the file and the environment', async (t) => {
    t.match(problemsOf(withToken('del\u007finside-the-token-0123')), [/^admin\.token: must be printable ASCII/])
    t.match(envSecretsProblem({ SWITCHYARD_ADMIN_TOKEN: 'del\u007finside-the-token-0123' }), /^SWITCHYARD_ADMIN_TOKEN: must be printable ASCII/)
    t.strictSame(problemsOf(withToken('tilde~is-the-last-printable')), [], '~ (0x7e) passes')
  })

  t.test('the file\'s token is judged without its surrounding whitespace', async (t) => {
    t.strictSame(problemsOf(withToken('printable-token-0123\n')), [], 'a trailing newline passes')
    t.strictSame(problemsOf(withToken('\tprintable-token-0123\r\n')), [], 'and a leading tab with a CRLF')
  })

  t.test('SWITCHYARD_SECRET may hold any character', async (t) => {
    t.equal(envSecretsProblem({ SWITCHYARD_SECRET: 'geheimes-€-schlüssel-0123456789' }), undefined)
  })
})
