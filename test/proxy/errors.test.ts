// Every error the gateway answers is JSON {error, message, requestId} with the catalogued status,
// carries the request id it reports, and never leaks a stack trace.
import t from 'tap'
import { ERRORS } from '../../src/errors.ts'
import { httpRequest, type ErrorBody, type HttpResponse } from './http.ts'
import { portOf, rawExchange, rawRequest } from './raw.ts'
import { gateway, refusedUrl, upstream, type Tap } from './setup.ts'


function assertError (t: Tap, res: HttpResponse, code: keyof typeof ERRORS, what: string = code): ErrorBody {
  t.equal(res.status, ERRORS[code].status, `${what}: status ${ERRORS[code].status}`)
  t.match(String(res.headers['content-type']), /^application\/json/, `${what}: JSON`)
  const text = res.text()
  t.notMatch(text, /\n\s+at /, `${what}: no stack trace`)
  const body = res.json<ErrorBody>()
  t.equal(body.error, code, `${what}: error code ${code}`)
  t.type(body.message, 'string')
  t.same(Object.keys(body).sort(), ['error', 'message', 'requestId'], `${what}: no other fields (no stack, no cause)`)
  t.equal(body.requestId, res.headers['x-request-id'], `${what}: requestId equals the x-request-id header`)
  return body
}

t.test('404 no_route', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] })
  assertError(t, await httpRequest(gw.url + '/nope'), 'no_route')
  const body = assertError(t, await httpRequest(gw.url + '/apix', { headers: { 'x-request-id': 'client-chosen-1' } }), 'no_route')
  t.equal(body.requestId, 'client-chosen-1', "the client's sane request id is reported")
  assertError(t, await httpRequest(gw.url + '/nope', { method: 'POST', body: 'x'.repeat(100) }), 'no_route', 'no_route with a body')
  const after = await httpRequest(gw.url + '/api')
  t.equal(after.status, 200, 'the gateway still answers')
})

t.test('400 bad_path', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const res = await rawRequest(portOf(gw.url), 'GET /a/%2e%2e/b HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad-1\r\nConnection: close\r\n\r\n')
  t.equal(res.status, 400)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { error: 'bad_path', message: ERRORS.bad_path.message, requestId: 'bad-1' })
  t.equal(res.headers['x-request-id'], 'bad-1')
  t.equal(u.hits, 0)
})

t.test('502 upstream_unreachable when the upstream refuses connections', async (t) => {
  const gone = await refusedUrl()
  const gw = await gateway(t, { pools: { p: { targets: [gone] } }, routes: [{ path: '/', pool: 'p' }] })
  assertError(t, await httpRequest(gw.url + '/x'), 'upstream_unreachable')
  assertError(t, await httpRequest(gw.url + '/x', { method: 'POST', body: '{"a":1}' }), 'upstream_unreachable', 'POST refused')
})

t.test('502 upstream_unreachable when the upstream resets before answering', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'reset-before-response'
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { attempts: 2 } } }, routes: [{ path: '/', pool: 'p' }] })
  assertError(t, await httpRequest(gw.url + '/x'), 'upstream_unreachable')
  t.equal(u.hits, 2, 'a GET is retried once, then the error is answered')
  u.mode = 'answer'
  const ok = await httpRequest(gw.url + '/x')
  t.equal(ok.status, 200, 'the gateway recovers once the upstream does')
})

t.test('504 upstream_timeout when the upstream hangs', async (t) => {
  const u = await upstream(t, 'u')
  u.mode = 'hang'
  const gw = await gateway(t, {
    pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  assertError(t, await httpRequest(gw.url + '/slow'), 'upstream_timeout')
  t.equal(u.hits, 1)
})

t.test('503 no_available_target with Retry-After when every target is out', async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gw = await gateway(t, { pools: { p: { targets: [a.url, b.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const { pool } = gw.gateway.pools().get('p')!
  for (const target of pool.targets) pool.setStatus(target, { disabled: true })
  const res = await httpRequest(gw.url + '/x')
  assertError(t, res, 'no_available_target')
  t.match(String(res.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After is a positive number of seconds')
  t.equal(a.hits + b.hits, 0)

  pool.setStatus(pool.targets[1]!, { disabled: false })
  const back = await httpRequest(gw.url + '/x')
  t.equal(back.status, 200)
  t.equal(back.echo().name, 'b')
})

t.test('503 circuit_open with Retry-After while the breaker is open', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  gw.gateway.pools().get('p')!.breaker.force('open')
  const res = await httpRequest(gw.url + '/x')
  assertError(t, res, 'circuit_open')
  t.match(String(res.headers['retry-after']), /^[1-9]\d*$/)
  t.equal(u.hits, 0)
})

t.test('malformed requests never crash the gateway', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const port = portOf(gw.url)
  const garbage = [
    'GARBAGE\r\n\r\n',
    '\x00\x01\x02\xff\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    'GET / HTTP/1.1\r\nNo colon here\r\n\r\n',
    'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
    'GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n',
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', // body cut short
  ]
  for (const bytes of garbage) {
    const answer = (await rawExchange(port, bytes, 1000)).toString('latin1')
    if (answer !== '') t.match(answer, /^HTTP\/1\.1 [45]\d\d /, `${JSON.stringify(bytes.slice(0, 30))}: answered with an error`)
    t.notMatch(answer, /\n\s+at /, 'no stack trace')
    const ok = await httpRequest(gw.url + '/still-alive')
    t.equal(ok.status, 200, 'the gateway still answers afterwards')
  }
})
