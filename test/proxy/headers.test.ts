// Header rewriting both ways: hop-by-hop, X-Forwarded-*, x-request-id and Host.
// node:http is used because fetch() forbids Connection, Keep-Alive, TE, Upgrade and Host.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import type { Echo } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody } from './http.ts'
import { portOf, rawRequest } from './raw.ts'
import { gateway, upstream } from './setup.ts'

const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/

t.test('hop-by-hop request headers never reach the upstream', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const hops = ['x-custom-hop', 'x-other-hop', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization', 'proxy-authentication-info', 'trailer', 'transfer-encoding']

  const res = await rawRequest(portOf(gw.url), [
    'GET /hop HTTP/1.1',
    'Host: shop.example',
    'Connection: close, X-Custom-Hop, x-other-hop',
    'X-Custom-Hop: must go',
    'x-other-hop: must go too',
    'Keep-Alive: timeout=5, max=100',
    'Proxy-Connection: keep-alive',
    'TE: trailers',
    'Upgrade: h2c',
    'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
    'Proxy-Authentication-Info: nextnonce="abc"',
    'X-End-To-End: kept',
    'Authorization: Bearer end-to-end',
    '', '',
  ].join('\r\n'))
  t.equal(res.status, 200)
  const seen = res.json<Echo>().headers
  for (const name of hops) t.equal(seen[name], undefined, `${name} is not forwarded`)
  // the upstream connection has its own Connection header (undici's); the client's never crosses
  t.notMatch(String(seen.connection ?? ''), /hop|close/i, "the client's Connection is not forwarded")
  t.equal(seen['x-end-to-end'], 'kept', 'end-to-end headers are forwarded')
  t.equal(seen.authorization, 'Bearer end-to-end', 'Authorization is end-to-end')
})

t.test('hop-by-hop response headers never reach the client', async (t) => {
  const u = await upstream(t, 'u')
  u.responseHeaders = {
    connection: 'x-hop, X-Other-Hop',
    'x-hop': 'secret',
    'x-other-hop': 'secret too',
    'keep-alive': 'timeout=99, max=999',
    'proxy-authenticate': 'Basic realm="upstream"',
    // RFC 9110 §11.7.3: answers the Proxy-Authorization the client sent the gateway, which the upstream never saw
    'proxy-authentication-info': 'nextnonce="abc"',
    'x-end-to-end': 'kept',
  }
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })

  const res = await httpRequest(gw.url + '/hop')
  t.equal(res.status, 200)
  t.equal(res.headers['x-hop'], undefined, 'a header named in Connection is removed')
  t.equal(res.headers['x-other-hop'], undefined, 'every header named in Connection is removed')
  t.equal(res.headers['proxy-authenticate'], undefined, 'Proxy-Authenticate is removed')
  t.equal(res.headers['proxy-authentication-info'], undefined, 'Proxy-Authentication-Info is removed')
  t.notMatch(String(res.headers['keep-alive'] ?? ''), /99/, "the upstream's Keep-Alive is removed")
  t.notMatch(String(res.headers.connection ?? ''), /hop/i, "the upstream's Connection is removed")
  t.equal(res.headers['x-end-to-end'], 'kept')
  t.equal(res.headers['x-upstream'], 'u')
  t.equal(res.echo().name, 'u', 'the body arrives intact')
})

t.test('X-Forwarded-* from an untrusted peer are replaced', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })

  const spoofed = await httpRequest(gw.url + '/xff', {
    headers: { host: 'shop.example:8443', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
  })
  const seen = spoofed.echo().headers
  t.equal(seen['x-forwarded-for'], '127.0.0.1', "an untrusted client's X-Forwarded-For is replaced by its address")
  t.equal(seen['x-forwarded-proto'], 'http', 'X-Forwarded-Proto says how the client reached the gateway')
  t.equal(seen['x-forwarded-host'], 'shop.example:8443', "X-Forwarded-Host is the client's Host")

  const plain = await httpRequest(gw.url + '/xff', { headers: { host: 'shop.example' } })
  t.equal(plain.echo().headers['x-forwarded-for'], '127.0.0.1')
  t.equal(plain.echo().headers['x-forwarded-proto'], 'http')
  t.equal(plain.echo().headers['x-forwarded-host'], 'shop.example')
})

t.test('X-Forwarded-For from a trusted proxy is extended', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, {
    server: { trustedProxies: ['127.0.0.1'] },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  })

  const res = await httpRequest(gw.url + '/xff', { headers: { host: 'internal:80', 'x-forwarded-for': '1.2.3.4' } })
  t.equal(res.echo().headers['x-forwarded-for'], '1.2.3.4, 127.0.0.1', 'the peer is appended to the chain')
  t.equal(res.echo().headers['x-forwarded-proto'], 'http')

  const chain = await httpRequest(gw.url + '/xff', { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1' } })
  t.equal(chain.echo().headers['x-forwarded-for'], '1.2.3.4, 10.0.0.1, 127.0.0.1')

  const none = await httpRequest(gw.url + '/xff')
  t.equal(none.echo().headers['x-forwarded-for'], '127.0.0.1', 'a trusted peer without a chain starts one')

  const forwarded = await httpRequest(gw.url + '/xff', {
    headers: { host: 'internal:80', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example' },
  })
  t.equal(forwarded.echo().headers['x-forwarded-proto'], 'https', "a trusted proxy's X-Forwarded-Proto is kept")
  t.equal(forwarded.echo().headers['x-forwarded-host'], 'public.example', "a trusted proxy's X-Forwarded-Host is kept")
})

t.test('x-request-id is passed through when sane, replaced when not, generated when absent', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })

  for (const id of ['abc-123.DEF_x', 'a'.repeat(128), '7']) {
    const res = await httpRequest(gw.url + '/api', { headers: { 'x-request-id': id } })
    t.equal(res.headers['x-request-id'], id, `a sane id (${id.length} chars) is returned as is`)
    t.equal(res.echo().headers['x-request-id'], id, 'and forwarded as is')
  }

  for (const id of ['a'.repeat(129), 'has space', 'a/b', 'semi;colon', '<script>', 'ünïcode']) {
    const res = await httpRequest(gw.url + '/api', { headers: { 'x-request-id': id } })
    const returned = res.headers['x-request-id']
    t.type(returned, 'string', `an unsafe id (${JSON.stringify(id.slice(0, 12))}) is replaced`)
    t.not(returned, id)
    t.match(String(returned), SANE_ID)
    t.equal(res.echo().headers['x-request-id'], returned, 'the upstream gets the replacement')
  }

  const a = await httpRequest(gw.url + '/api')
  const b = await httpRequest(gw.url + '/api')
  const idA = a.headers['x-request-id']
  t.match(String(idA), SANE_ID, 'an id is generated when absent')
  t.equal(a.echo().headers['x-request-id'], idA, 'and forwarded')
  t.not(b.headers['x-request-id'], idA, 'each request gets its own')

  u.responseHeaders = { 'x-request-id': 'upstream-made-this-up' }
  const overridden = await httpRequest(gw.url + '/api', { headers: { 'x-request-id': 'mine-1' } })
  t.equal(overridden.headers['x-request-id'], 'mine-1', "the response carries the gateway's id, not the upstream's")
  u.responseHeaders = {}

  const miss = await httpRequest(gw.url + '/nothing', { headers: { 'x-request-id': 'lost-1' } })
  t.equal(miss.status, 404)
  t.equal(miss.headers['x-request-id'], 'lost-1', 'error responses carry it too')
  t.equal(miss.json<ErrorBody>().requestId, 'lost-1')
  const missGenerated = await httpRequest(gw.url + '/nothing')
  t.match(String(missGenerated.headers['x-request-id']), SANE_ID)
})

t.test("Host is the client's by default and the target's with preserveHost: false", async (t) => {
  const keep = await upstream(t, 'keep')
  const swap = await upstream(t, 'swap')
  const gw = await gateway(t, {
    pools: { keep: { targets: [keep.url] }, swap: { targets: [swap.url], preserveHost: false } },
    routes: [{ path: '/keep', pool: 'keep' }, { path: '/swap', pool: 'swap' }],
  })

  const kept = await httpRequest(gw.url + '/keep', { headers: { host: 'shop.example:8443' } })
  t.equal(kept.echo().headers.host, 'shop.example:8443', "the client's Host is forwarded")

  const swapped = await httpRequest(gw.url + '/swap', { headers: { host: 'shop.example:8443' } })
  t.equal(swapped.echo().headers.host, `127.0.0.1:${swap.port}`, "the target's host is sent")
  t.equal(swapped.echo().headers['x-forwarded-host'], 'shop.example:8443', "X-Forwarded-Host still names the client's")
  const hostHeaders = swap.requests.at(-1)!.rawHeaders.filter((_, i, raw) => i % 2 === 0 && raw[i]!.toLowerCase() === 'host')
  t.equal(hostHeaders.length, 1, 'exactly one Host header is sent')
})

// Last in the file: a streamed request body currently makes the gateway throw after the response
// (see the report: undici nulls req.socket), and tap pins that uncaught error on the running test.
t.test("a chunked upload's framing headers stay on the client's hop", async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const chunked = await rawRequest(portOf(gw.url), [
    'POST /hop HTTP/1.1',
    'Host: shop.example',
    'Connection: close',
    'X-Request-Id: chunked-1',
    'Transfer-Encoding: chunked',
    'TE: trailers',
    'Trailer: x-checksum',
    '',
    '5', 'hello', '6', ' world', '0', 'x-checksum: abc', '', '',
  ].join('\r\n'))
  t.equal(chunked.status, 200)
  const echo = chunked.json<Echo>()
  t.equal(echo.bodyBytes, 11, 'the body arrives whole')
  for (const name of ['te', 'trailer', 'x-checksum']) t.equal(echo.headers[name], undefined, `${name} is not forwarded`)
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === 'chunked-1'), 2000)
  t.equal(gw.accessLogs().filter((l) => l.requestId === 'chunked-1').length, 1, 'the request is logged once')
})
