// Read-your-writes for clients without cookies: the write's answer carries, in x-read-after-write, the same signed
// token as its sy_rw cookie, and only such a token sent back pins reads to the primary. Before, the header was a bare
// time that any client could send, with no write, to pin every read to the primary for good (a fresh time each time).
// And the cookie says Secure when the write came in over HTTPS, as a trusted TLS-terminating proxy's
// X-Forwarded-Proto tells (the gateway itself listens in plain HTTP): before, it never did.
import t from 'tap'
import { parseSetCookie } from 'cookie'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'
import { startGateway, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]
const SECRET = 'a-shared-secret-of-32-characters!!'

async function setup (t: Tap, extra: Partial<GatewayConfig> = {}): Promise<TestGateway> {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    secret: SECRET,
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', stickyAfterWriteMs: 30_000 } }],
    ...extra,
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return gw
}

const servedBy = async (gw: TestGateway, headers: Record<string, string>): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers })).echo().name
const sticky = (set: string[] | undefined): string | undefined => set?.find((c) => c.startsWith('sy_rw='))

t.test("the header carries the cookie's signed token, and only that pins", async (t) => {
  const gw = await setup(t)
  const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', body: '{}' })
  t.equal(write.status, 200)
  const token = write.headers['x-read-after-write'] as string
  t.equal(`sy_rw=${token}`, sticky(write.headers['set-cookie'])!.split(';')[0], 'the same value as the cookie')
  t.equal(await servedBy(gw, { 'x-read-after-write': token }), 'primary', 'sent back: pinned')
  t.equal(await servedBy(gw, { 'x-read-after-write': ` ${token} ` }), 'primary', 'spaces around it are fine')
  const [expiry, signature] = token.split('.') as [string, string]
  const forged: [string, string][] = [
    ['a time, as a client could make up', String(Date.now())],
    ['the expiry alone', expiry],
    ['a later expiry with the same signature', `${Number(expiry) + 1000}.${signature}`],
    ['another signature', `${expiry}.${signature.slice(1)}${signature[0] === 'A' ? 'B' : 'A'}`],
    ['signed with another secret', new ReadAfterWrite({ secret: 'another-secret-of-16', stickyAfterWriteMs: 30_000, routePath: '/m' }).token()],
    ['signed for another route', new ReadAfterWrite({ secret: SECRET, stickyAfterWriteMs: 30_000, routePath: '/other' }).token()],
    ['the cookie form', `sy_rw=${token}`],
  ]
  for (const [name, value] of forged) t.equal(await servedBy(gw, { 'x-read-after-write': value }), 'replica', `${name}: not pinned`)
})

// A client that wrote twice may send both tokens back, on two lines or as one list (RFC 9110 §5.3: the same
// thing; any hop may join them): any valid one pins, as with cookies. Before, a list pinned nothing: the client's
// read of its own write went to a replica. At most 4 are checked, so a long list costs little.
t.test('a list of tokens pins when one of them is valid', async (t) => {
  const gw = await setup(t)
  const token = (await httpRequest(`${gw.url}/m/1`, { method: 'POST', body: '{}' })).headers['x-read-after-write'] as string
  const other = new ReadAfterWrite({ secret: 'another-secret-of-16', stickyAfterWriteMs: 30_000, routePath: '/m' }).token()
  const by = async (value: string | string[]): Promise<string> => (await httpRequest(`${gw.url}/m/1`, { headers: { 'x-read-after-write': value } })).echo().name
  t.equal(await by([other, token]), 'primary', 'two lines, the second valid')
  t.equal(await by(`${other}, ${token}`), 'primary', 'one list, the second valid')
  t.equal(await by(`${token},${other}`), 'primary', 'one list, the first valid, no space')
  t.equal(await by(`${other}, ${other}`), 'replica', 'none valid')
  t.equal(await by([other, other, other, token]), 'primary', 'the fourth is still read')
  t.equal(await by([other, other, other, other, token]), 'replica', 'a fifth is not')
})

t.test('the cookie is Secure when a trusted proxy says the write came in over HTTPS, per request', async (t) => {
  const gw = await setup(t, { server: { trustedProxies: ['127.0.0.1'] } })
  const secure = async (headers: Record<string, string>): Promise<boolean> => {
    const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', headers, body: '{}' })
    return parseSetCookie(sticky(write.headers['set-cookie'])!).secure === true
  }
  t.equal(await secure({ 'x-forwarded-proto': 'https' }), true, 'https')
  t.equal(await secure({ 'x-forwarded-proto': 'HTTPS' }), true, 'in any case')
  t.equal(await secure({ 'x-forwarded-proto': 'https, http' }), true, "the client's leg is the first")
  t.equal(await secure({ 'x-forwarded-proto': 'http' }), false, 'http')
  t.equal(await secure({}), false, "no header: the gateway's own proto, http")
})

t.test("an untrusted peer's X-Forwarded-Proto says nothing", async (t) => {
  const gw = await setup(t)
  const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', headers: { 'x-forwarded-proto': 'https' }, body: '{}' })
  t.equal(parseSetCookie(sticky(write.headers['set-cookie'])!).secure, undefined)
})

// Secure is said for the scheme https only, not for any value that starts with those letters ('httpsx', 'https-ish'):
// a Secure cookie on a plain-HTTP leg is one the browser never sends back, and the client loses read-your-writes.
t.test("X-Forwarded-Proto values that only begin with 'https' are not HTTPS", async (t) => {
  const gw = await setup(t, { server: { trustedProxies: ['127.0.0.1'] } })
  const secure = async (headers: Record<string, string>): Promise<boolean> => {
    const write = await httpRequest(`${gw.url}/m/1`, { method: 'POST', headers, body: '{}' })
    return parseSetCookie(sticky(write.headers['set-cookie'])!).secure === true
  }
  t.equal(await secure({ 'x-forwarded-proto': 'httpsx' }), false, 'httpsx')
  t.equal(await secure({ 'x-forwarded-proto': 'https-ish, https' }), false, 'the first leg decides')
  t.equal(await secure({ 'x-forwarded-proto': ' https , http' }), true, 'spaces around https are fine')
})
