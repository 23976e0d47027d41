// Header hygiene against a hostile client: hop-by-hop tricks cannot strip the gateway's own forwarding
// headers, spoofed X-Forwarded-* and friends are replaced, and '_' names cannot alias dashed ones upstream.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { buildUpstreamHeaders, type IncomingFacts } from '../../src/proxy/headers.ts'
import { CountingUpstream, type SeenRequest } from '../helpers/counting-upstream.ts'
import { startGateway } from '../helpers/gateway.ts'
import type { Tap } from '../proxy/setup.ts'
import { converse } from './wire.ts'

async function setup (t: Tap, server: Record<string, unknown> = {}) {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({ server, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] } as GatewayConfig, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  /** Sends the header lines on a GET and returns what the upstream's parser read. */
  const send = async (lines: readonly string[], method = 'GET', body = ''): Promise<SeenRequest> => {
    u.reset()
    const head = `${method} /h HTTP/1.1\r\nHost: shop.example\r\n${lines.map((l) => `${l}\r\n`).join('')}`
    const res = await converse(port, `${head}${body === '' ? '' : `Content-Length: ${body.length}\r\n`}\r\n${body}`)
    t.equal(res.responses[0]?.status, 200)
    t.equal(u.requests.length, 1)
    return u.requests[0]!
  }
  return { u, gw, send }
}

/** Every value of a header, as the upstream received it (names compared case-insensitively). */
function all (seen: SeenRequest, name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase() === name) out.push(seen.rawHeaders[i + 1]!)
  return out
}

t.test("Connection naming the gateway's own headers does not strip them (RFC 9110 §7.6.1)", async (t) => {
  const { send } = await setup(t)
  const seen = await send(['Connection: x-forwarded-for, x-request-id, x-forwarded-proto, x-forwarded-host, host', 'X-Request-Id: client-id-1', 'X-Forwarded-For: 6.6.6.6'])
  t.strictSame(all(seen, 'x-forwarded-for'), ['127.0.0.1'], 'the gateway sets X-Forwarded-For, once, to the peer')
  t.strictSame(all(seen, 'x-request-id'), ['client-id-1'], 'the request id survives')
  t.strictSame(all(seen, 'x-forwarded-proto'), ['http'])
  t.strictSame(all(seen, 'x-forwarded-host'), ['shop.example'])
  t.strictSame(all(seen, 'host'), ['shop.example'])
})

t.test('Connection naming Content-Length does not unframe the body (RFC 9112 §6.2)', async (t) => {
  const { send } = await setup(t)
  const seen = await send(['Connection: content-length'], 'POST', 'twelve bytes')
  t.equal(seen.body.toString(), 'twelve bytes')
})

t.test('Connection still strips the headers it names that are not the gateway\'s (RFC 9110 §7.6.1)', async (t) => {
  const { send } = await setup(t)
  const seen = await send(['Connection: x-hop, keep-alive', 'X-Hop: 1', 'Keep-Alive: timeout=5', 'X-End: 2'])
  t.strictSame(all(seen, 'x-hop'), [])
  t.strictSame(all(seen, 'keep-alive'), [])
  t.strictSame(all(seen, 'x-end'), ['2'])
})

t.test('spoofed X-Forwarded-*, Forwarded and X-Real-IP from an untrusted peer are replaced (RFC 7239 §8.1)', async (t) => {
  const { send } = await setup(t)
  const seen = await send([
    'X-Forwarded-For: 10.0.0.1', 'X-Forwarded-For: 10.0.0.2', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: admin.internal',
    'Forwarded: for=10.0.0.1;proto=https', 'X-Real-IP: 10.0.0.1',
  ])
  t.strictSame(all(seen, 'x-forwarded-for'), ['127.0.0.1'])
  t.strictSame(all(seen, 'x-forwarded-proto'), ['http'])
  t.strictSame(all(seen, 'x-forwarded-host'), ['shop.example'])
  t.strictSame(all(seen, 'forwarded'), [])
  t.strictSame(all(seen, 'x-real-ip'), [])
})

t.test("headers with '_' are dropped by default, so they cannot alias dashed ones (RFC 9110 §5.1)", async (t) => {
  const { send } = await setup(t)
  const seen = await send(['X_Auth_User: admin', 'X-Auth-User: alice', 'x_forwarded_for: 10.0.0.1', 'X_Request_Id: z'])
  t.strictSame(all(seen, 'x_auth_user'), [])
  t.strictSame(all(seen, 'x_forwarded_for'), [])
  t.strictSame(all(seen, 'x_request_id'), [])
  t.strictSame(all(seen, 'x-auth-user'), ['alice'], 'the dashed header passes')
  t.strictSame(all(seen, 'x-forwarded-for'), ['127.0.0.1'])
})

t.test("dropUnderscoreHeaders: false keeps '_' names (buildUpstreamHeaders, as FrontOptions passes it)", async (t) => {
  const facts = (): IncomingFacts => ({ host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false })
  const base = { clientIp: '203.0.113.9', trusted: false, proto: 'http' as const }
  const kept = buildUpstreamHeaders(['X_Auth_User', 'admin'], { ...base, dropUnderscoreHeaders: false }, facts())
  t.equal(kept[kept.indexOf('x_auth_user') + 1], 'admin')
  const dropped = buildUpstreamHeaders(['X_Auth_User', 'admin'], { ...base, dropUnderscoreHeaders: true }, facts())
  t.notOk(dropped.includes('x_auth_user'))
})

t.test("server.dropUnderscoreHeaders: false keeps '_' names end to end", async (t) => {
  const { send } = await setup(t, { dropUnderscoreHeaders: false })
  const seen = await send(['X_Auth_User: admin'])
  t.strictSame(all(seen, 'x_auth_user'), ['admin'])
})

t.test('absolute-form: the target authority is the Host the upstream sees and the one routed on (RFC 9112 §3.2.2)', async (t) => {
  const u = await CountingUpstream.start()
  const other = await CountingUpstream.start()
  t.teardown(() => u.close())
  t.teardown(() => other.close())
  const gw = await startGateway({
    pools: { shop: { targets: [u.url] }, other: { targets: [other.url] } },
    routes: [{ path: '/', pool: 'shop', host: 'shop.example' }, { path: '/', pool: 'other' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  const res = await converse(port, 'GET http://shop.example/x HTTP/1.1\r\nHost: other.example\r\n\r\n')
  t.equal(res.responses[0]?.status, 200)
  t.equal(u.requests.length, 1, 'routed by the authority, not the Host header')
  t.equal(other.requests.length, 0)
  t.equal(u.requests[0]?.headers.host, 'shop.example')
  t.equal(u.requests[0]?.headers['x-forwarded-host'], 'shop.example')
})
