// Path attacks over raw sockets (fetch and node:http would normalise the bytes before sending).
// The normalised path is both what is routed and what the upstream receives.
import t from 'tap'
import type { Echo } from '../helpers/upstream.ts'
import type { ErrorBody } from './http.ts'
import { portOf, rawRequest, type RawResponse } from './raw.ts'
import { gateway, upstream, type Tap } from './setup.ts'

const get = (target: string, method = 'GET'): string => `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`

function assertBadPath (t: Tap, res: RawResponse, what: string): void {
  t.equal(res.status, 400, `${what}: 400`)
  t.match(res.headers['content-type'], /^application\/json/, `${what}: JSON`)
  const body = res.json<ErrorBody>()
  t.equal(body.error, 'bad_path', `${what}: bad_path`)
  t.type(body.message, 'string')
  t.match(body.requestId, /^[A-Za-z0-9._-]+$/, `${what}: has a request id`)
  t.equal(body.requestId, res.headers['x-request-id'], `${what}: body requestId matches the header`)
  t.same(Object.keys(body).sort(), ['error', 'message', 'requestId'], `${what}: nothing else in the body`)
}

t.test('dot segments are resolved before routing, and the upstream sees the normalised path', async (t) => {
  const pub = await upstream(t, 'public')
  const admin = await upstream(t, 'admin')
  const gw = await gateway(t, {
    pools: { pub: { targets: [pub.url] }, admin: { targets: [admin.url] } },
    routes: [{ path: '/public', pool: 'pub' }, { path: '/admin', pool: 'admin' }],
  })
  const port = portOf(gw.url)

  const cases: Array<[string, string, string]> = [
    ['/public/../admin/x', 'admin', '/admin/x'],
    ['/public/../../../admin/x', 'admin', '/admin/x'],
    ['/public/./x', 'public', '/public/x'],
    ['/admin/../public/x?a=../b', 'public', '/public/x?a=../b'],
    ['//public//x', 'public', '/public/x'],
    ['/public/a/..', 'public', '/public/'],
    ['/admin/x/.', 'admin', '/admin/x/'],
  ]
  for (const [target, name, seen] of cases) {
    const res = await rawRequest(port, get(target))
    t.equal(res.status, 200, `${target} is routed`)
    const echo = res.json<Echo>()
    t.equal(echo.name, name, `${target} is routed to ${name}`)
    t.equal(echo.url, seen, `${target} reaches the upstream as ${seen}`)
  }
})

t.test('encoded dots and separators are refused with 400 bad_path', async (t) => {
  const pub = await upstream(t, 'public')
  const admin = await upstream(t, 'admin')
  const gw = await gateway(t, {
    pools: { pub: { targets: [pub.url] }, admin: { targets: [admin.url] } },
    routes: [{ path: '/public', pool: 'pub' }, { path: '/admin', pool: 'admin' }, { path: '/', pool: 'pub' }],
  })
  const port = portOf(gw.url)

  const attacks = [
    '/public/%2e%2e/admin/x',
    '/public/%2E%2e/admin/x',
    '/public/%2E%2E/admin/x',
    '/public/.%2e/admin/x',
    '/public/%2e./admin/x',
    '/public/%2e/x',
    '/public/..%2fadmin/x',
    '/public/a%2fb',
    '/public/a%2Fb',
    '/public/a%5cb',
    '/public/a%5Cb',
    '/public/%2e%2e',
    '/%zz',
    '/public/%zz',
    '/public/%2',
    '/public/x%',
  ]
  for (const target of attacks) assertBadPath(t, await rawRequest(port, get(target)), target)
  t.equal(pub.hits + admin.hits, 0, 'no refused request reached an upstream')

  // a legitimately encoded segment is fine and is forwarded still encoded, but for an encoded letter, digit or
  // -._~, which is the character itself (RFC 3986 §6.2.2.2): sent as the character that was routed
  const ok = await rawRequest(port, get('/public/a%20b%41'))
  t.equal(ok.status, 200)
  t.equal(ok.json<Echo>().url, '/public/a%20bA')
})

t.test('asterisk-form is refused with 400 bad_path', async (t) => {
  const pub = await upstream(t, 'public')
  const gw = await gateway(t, { pools: { pub: { targets: [pub.url] } }, routes: [{ path: '/', pool: 'pub' }] })
  assertBadPath(t, await rawRequest(portOf(gw.url), get('*', 'OPTIONS')), 'OPTIONS *')
  t.equal(pub.hits, 0)
})

t.test('absolute-form request targets are routed by their path', async (t) => {
  const payment = await upstream(t, 'payment')
  const admin = await upstream(t, 'admin')
  const gw = await gateway(t, {
    pools: { payment: { targets: [payment.url] }, admin: { targets: [admin.url] } },
    routes: [{ path: '/payment', pool: 'payment' }, { path: '/admin', pool: 'admin' }],
  })
  const port = portOf(gw.url)

  const res = await rawRequest(port, get('http://upstream.example/payment/x?y=1'))
  t.equal(res.status, 200)
  t.equal(res.json<Echo>().name, 'payment')
  t.equal(res.json<Echo>().url, '/payment/x?y=1', 'the upstream gets origin-form')

  const dots = await rawRequest(port, get('http://upstream.example/payment/../admin/y'))
  t.equal(dots.status, 200)
  t.equal(dots.json<Echo>().name, 'admin')
  t.equal(dots.json<Echo>().url, '/admin/y')

  const miss = await rawRequest(port, get('http://upstream.example/other'))
  t.equal(miss.status, 404)
  t.equal(miss.json<ErrorBody>().error, 'no_route')

  assertBadPath(t, await rawRequest(port, get('ftp://upstream.example/payment/x')), 'non-http absolute-form')
})
