// What a client may not choose: the client facts only a trusted proxy gives (X-Forwarded-Port/-Prefix/-Server,
// True-Client-IP, X-Client-IP, Client-IP, X-Cluster-Client-IP, beside Forwarded and X-Real-IP) never reach the
// upstream from an untrusted peer; and a request refused before routing is logged as a routed one is, without the
// query or an absolute-form target's userinfo (access tokens, API keys, passwords).
// Raw sockets: fetch() and node:http would normalise the targets and fix the header lines.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import { type Echo, TestUpstream } from '../helpers/upstream.ts'
import { portOf, rawExchange, rawRequest } from './raw.ts'
import type { Tap } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'
import { loggedTargetPath } from '../../src/proxy/access-log.ts'
import { buildUpstreamHeaders, type IncomingFacts, type UpstreamHeaderOptions } from '../../src/proxy/headers.ts'

const CLIENT_FACTS: Record<string, string> = {
  forwarded: 'for=6.6.6.6;proto=https',
  'x-real-ip': '6.6.6.6',
  'x-forwarded-port': '8443',
  'x-forwarded-prefix': '/evil',
  'x-forwarded-server': 'evil.example',
  'true-client-ip': '6.6.6.6',
  'x-client-ip': '6.6.6.6',
  'client-ip': '6.6.6.6',
  'x-cluster-client-ip': '6.6.6.6',
  // a review found these passing too: Rack reads X-Forwarded-Ssl/-Scheme before X-Forwarded-Proto
  'x-forwarded': 'for=6.6.6.6',
  'cf-connecting-ip': '6.6.6.6',
  'fastly-client-ip': '6.6.6.6',
  'x-original-forwarded-for': '6.6.6.6',
  'x-proxyuser-ip': '6.6.6.6',
  'x-forwarded-ssl': 'on',
  'x-forwarded-scheme': 'https',
  'x-forwarded-protocol': 'https',
  'x-url-scheme': 'https',
  'front-end-https': 'on',
}

async function setUp (t: Tap, server: GatewayConfig['server'] = {}): Promise<{ u: TestUpstream; gw: TestGateway; port: number }> {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ server, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] } as GatewayConfig)
  t.teardown(() => gw.close())
  return { u, gw, port: portOf(gw.url) }
}

function requestWith (headers: Record<string, string>, extra: string[] = []): string {
  return ['GET /who HTTP/1.1', 'Host: shop.example', ...Object.entries(headers).map(([n, v]) => `${n}: ${v}`), ...extra, 'Connection: close', '', ''].join('\r\n')
}

t.test('from an untrusted peer no client fact reaches the upstream as the client wrote it', async (t) => {
  const { port } = await setUp(t, { trustedProxies: [] })
  const res = await rawRequest(port, requestWith({ ...CLIENT_FACTS, 'x-forwarded-for': '6.6.6.6', 'X-End-To-End': 'kept' }))
  t.equal(res.status, 200)
  const seen = res.json<Echo>().headers
  for (const name of Object.keys(CLIENT_FACTS)) t.equal(seen[name], undefined, `${name} is dropped`)
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer, as before')
  t.equal(seen['x-end-to-end'], 'kept', 'other fields still pass')
})

t.test('spelled in any case, repeated, they are dropped all the same', async (t) => {
  const { port } = await setUp(t)
  const res = await rawRequest(port, requestWith({ 'X-Forwarded-Port': '8443', 'TRUE-CLIENT-IP': '6.6.6.6' }, ['x-forwarded-port: 9443', 'X-Cluster-Client-Ip: 6.6.6.6']))
  t.equal(res.status, 200)
  const seen = res.json<Echo>().headers
  for (const name of ['x-forwarded-port', 'true-client-ip', 'x-cluster-client-ip']) t.equal(seen[name], undefined, `${name} is dropped`)
})

t.test('from a trusted proxy they are passed on as it wrote them, as X-Real-IP is', async (t) => {
  const { port } = await setUp(t, { trustedProxies: ['127.0.0.1'] })
  const res = await rawRequest(port, requestWith({ ...CLIENT_FACTS, 'x-forwarded-for': '203.0.113.7' }))
  t.equal(res.status, 200)
  const seen = res.json<Echo>().headers
  for (const [name, value] of Object.entries(CLIENT_FACTS)) t.equal(seen[name], value, `${name} is kept`)
  t.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1', "the proxy's chain is extended")
})

t.test("a trusted proxy's field named in its Connection is hop-by-hop, and goes no further", async (t) => {
  const { port } = await setUp(t, { trustedProxies: ['127.0.0.1'] })
  const res = await rawRequest(port, ['GET /who HTTP/1.1', 'Host: shop.example', 'Connection: close, X-Forwarded-Port', 'X-Forwarded-Port: 8443', 'X-Real-IP: 203.0.113.7', '', ''].join('\r\n'))
  t.equal(res.status, 200)
  const seen = res.json<Echo>().headers
  t.equal(seen['x-forwarded-port'], undefined, 'named in Connection: dropped')
  t.equal(seen['x-real-ip'], '203.0.113.7', 'not named: kept')
})

/** The access-log line of the request whose answer carried `requestId`. */
async function lineOf (gw: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

function noSecretLogged (t: Tap, gw: TestGateway): void {
  const leaked = gw.logs.filter((l) => JSON.stringify(l).includes('SECRET'))
  t.same(leaked, [], 'no log line carries a secret from the request target')
}

t.test('a request refused before routing is logged without its query or userinfo', async (t) => {
  const { gw, port } = await setUp(t, { maxUrlBytes: 256 })
  // the logged path exactly (t.match would take a string for a part of it), beside the answer's status and error
  const logged = async (requestLine: string, extra: string[] = []): Promise<[number, unknown, unknown]> => {
    const res = await rawRequest(port, [requestLine, 'Host: shop.example', ...extra, 'Connection: close', '', ''].join('\r\n'))
    const line = await lineOf(gw, res.headers['x-request-id']!)
    return [res.status, line.error, line.path]
  }

  t.same(await logged('GET /ok?access_token=ROUTED-SECRET HTTP/1.1'), [200, undefined, '/ok'], 'routed: the path, no query')
  t.same(await logged('GET /a/%2e%2e/b?access_token=REFUSED-SECRET#frag HTTP/1.1'), [400, 'bad_path', '/a/%2e%2e/b'],
    'bad_path: the path as sent, no query')
  t.same(await logged('GET /a/%2F/b#SECRET-FRAGMENT HTTP/1.1'), [400, 'bad_path', '/a/%2F/b'], 'bad_path: no fragment')
  t.same(await logged('GET http://alice:PASSWORD-SECRET@shop.example/x?k=QUERY-SECRET HTTP/1.1'), [400, 'bad_path', '/x'],
    'absolute form with userinfo: no scheme, authority or query')
  t.same(await logged('GET https://alice:PASSWORD-SECRET@shop.example?k=QUERY-SECRET HTTP/1.1'), [400, 'bad_path', '/'],
    'absolute form with no path: /')
  t.same(await logged('GET ftp://alice:PASSWORD-SECRET@shop.example/f HTTP/1.1'), [400, 'bad_path', '/f'], 'any scheme')
  // malformed (two Host lines): the path was read, so it is logged normalised, as a routed one
  t.same(await logged('GET /p/./q?api_key=MALFORMED-SECRET HTTP/1.1', ['Host: other.example']), [400, 'bad_request', '/p/q'],
    'malformed: the normalised path, no query')
  // longer than maxUrlBytes: refused before the front half reads the target at all
  t.same(await logged(`GET /long?access_token=LONG-SECRET&pad=${'x'.repeat(300)} HTTP/1.1`), [414, 'uri_too_long', '/long'],
    'uri_too_long: the path, no query')
  noSecretLogged(t, gw)
})

t.test('an upgrade refused before routing is logged without its query', async (t) => {
  const { gw, port } = await setUp(t)
  const handshake = wsHandshake('/ws/%2e%2e/x?token=UPGRADE-SECRET', 'refused-upgrade')
  t.match((await rawExchange(port, handshake)).toString('latin1'), /^HTTP\/1\.1 400 /)
  const line = await lineOf(gw, 'refused-upgrade')
  t.match(line, { status: 400, error: 'bad_path', upgrade: true })
  t.equal(line.path, '/ws/%2e%2e/x', 'the path, no query')
  noSecretLogged(t, gw)
})

// An upgrade refused before admission (its target over server.maxUrlBytes) wrote its raw target to the log, the
// query's token included: its line drops the query as every other line does.
t.test('an upgrade refused before admission is logged without its query', async (t) => {
  const u = await TestUpstream.start()
  const gw = await startGateway({ server: { maxUrlBytes: 256 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  const secret = 'x'.repeat(300)
  await rawExchange(portOf(gw.url), wsHandshake(`/ws?access_token=${secret}`, 'long-upgrade'))
  await waitFor(() => gw.accessLogs().length === 1)
  t.match(gw.accessLogs()[0], { path: '/ws', status: 414, upgrade: true })
  t.notMatch(JSON.stringify(gw.logs), secret, 'the token is nowhere in the log')
})

// loggedTargetPath: an absolute-form scheme and authority are taken off the start of a target only, never found
// further in (a relative target that holds "x://" somewhere is logged as sent, without its query).
t.test('logged-target-path', async (t) => {
  t.test('only a target beginning with a scheme loses its authority', async (t) => {
    t.equal(loggedTargetPath('a/http://host/p?k=SECRET'), 'a/http://host/p', 'a scheme further in is part of the path')
    t.equal(loggedTargetPath('1http://host/p'), '1http://host/p', 'a scheme begins with a letter')
    t.equal(loggedTargetPath('http://user:pw@host/p?k=SECRET'), '/p')
    t.equal(loggedTargetPath(undefined), '')
  })
})

// A trusted proxy may pass on the client facts (Forwarded, X-Real-IP, ...), and nothing else the gateway holds back:
// hop-by-hop fields and Expect from a trusted peer go no further than from any other.
t.test('trusted-peer-held-back', async (t) => {
  const trusted: UpstreamHeaderOptions = { clientIp: '10.0.0.2', trusted: true, proto: 'http' }

  t.test('from a trusted proxy, hop-by-hop fields and Expect are still held back', async (t) => {
    for (const name of ['Keep-Alive', 'Proxy-Connection', 'TE', 'Trailer', 'Proxy-Authorization', 'Proxy-Authenticate', 'Expect']) {
      const facts: IncomingFacts = { host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false }
      const flat = buildUpstreamHeaders([name, 'x', 'X-Real-IP', '198.51.100.7', 'Accept', '*/*'], trusted, facts)
      const names = flat.filter((_, i) => i % 2 === 0)
      t.notOk(names.includes(name.toLowerCase()), `${name} removed`)
      t.ok(names.includes('x-real-ip'), `${name}: the trusted proxy's client fact passes`)
      t.ok(names.includes('accept'), `${name}: other fields kept`)
    }
  })
})

// CONNECT's authority-form target may carry userinfo (a client's proxy credentials): the log drops it as it drops an
// absolute-form target's.
t.test("a CONNECT target's userinfo is not logged", async (t) => {
  const { gw, port } = await setUp(t)
  await rawExchange(port, 'CONNECT user:S3CRET-PASS@db.example:443 HTTP/1.1\r\nHost: db.example:443\r\n\r\n')
  await waitFor(() => gw.accessLogs().length === 1)
  t.equal(gw.accessLogs()[0]!.path, 'db.example:443')
  t.notMatch(JSON.stringify(gw.logs), 'S3CRET-PASS')
})
