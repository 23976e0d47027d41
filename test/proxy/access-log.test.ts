// Exactly one 'request' access-log line per request, with the same fields whatever happened.
import t from 'tap'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { portOf, rawHandshake, rawRequest } from './raw.ts'
import { gateway, refusedUrl, upstream, type Tap } from './setup.ts'


const FIELDS = ['requestId', 'method', 'path', 'route', 'pool', 'target', 'status', 'durationMs', 'bytesIn', 'bytesOut', 'attempts']

/** Waits for the line of `requestId`, then checks there is exactly one. */
async function lineFor (t: Tap, gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId), 3000).catch(() => { /* reported below */ })
  const lines = gw.accessLogs().filter((l) => l.requestId === requestId)
  t.equal(lines.length, 1, `${requestId}: exactly one access-log line`)
  return lines[0] ?? { msg: 'missing', level: 0 }
}

function assertShape (t: Tap, line: LogRecord, what: string): void {
  t.equal(line.msg, 'request')
  t.equal(line.level, 30, `${what}: logged at info`)
  t.type(line.durationMs, 'number', `${what}: durationMs`)
  t.ok((line.durationMs as number) >= 0)
  for (const field of ['bytesIn', 'bytesOut', 'attempts', 'status']) t.type(line[field], 'number', `${what}: ${field} is a number`)
  t.type(line.method, 'string')
  t.type(line.path, 'string')
}

t.test('one line per proxied request, with every field', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { api: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'api' }] })

  const get = await httpRequest(gw.url + '/api/items?page=2', { headers: { 'x-request-id': 'log-get' } })
  t.equal(get.status, 200)
  const line = await lineFor(t, gw, 'log-get')
  for (const field of FIELDS) t.not(line[field], undefined, `${field} is present`)
  assertShape(t, line, 'GET')
  t.match(line, { requestId: 'log-get', method: 'GET', path: '/api/items', route: /\/api$/, pool: 'api', target: u.url, status: 200, bytesIn: 0, attempts: 1 })
  t.ok((line.bytesOut as number) > get.body.length, 'bytesOut counts the response head and body')
  t.equal(line.error, undefined, 'no error on a success')
  t.equal(line.aborted, undefined)

  const body = 'x'.repeat(1000)
  const post = await httpRequest(gw.url + '/api/items', { method: 'POST', body, headers: { 'x-request-id': 'log-post' } })
  t.equal(post.status, 200)
  const postLine = await lineFor(t, gw, 'log-post')
  assertShape(t, postLine, 'POST')
  t.match(postLine, { method: 'POST', status: 200, bytesIn: 1000, attempts: 1, pool: 'api' })

  // the upstream's own error status is logged as it was answered
  const status = await httpRequest(gw.url + '/api/x?status=418', { headers: { 'x-request-id': 'log-418' } })
  t.equal(status.status, 418)
  t.match(await lineFor(t, gw, 'log-418'), { status: 418, pool: 'api', attempts: 1 })

  t.equal(gw.accessLogs().length, 3, 'three requests, three lines')
})

t.test('error lines carry the error code', async (t) => {
  const u = await upstream(t, 'u')
  const gone = await refusedUrl(t)
  const gw = await gateway(t, {
    pools: { api: { targets: [u.url] }, dead: { targets: [gone], retry: { attempts: 2 } } },
    routes: [{ path: '/api', pool: 'api' }, { path: '/dead', pool: 'dead' }],
  })

  await httpRequest(gw.url + '/nothing', { headers: { 'x-request-id': 'log-404' } })
  const miss = await lineFor(t, gw, 'log-404')
  assertShape(t, miss, '404')
  t.match(miss, { status: 404, error: 'no_route', attempts: 0, path: '/nothing' })
  t.equal(miss.route, undefined)
  t.equal(miss.pool, undefined)

  await httpRequest(gw.url + '/dead/x', { headers: { 'x-request-id': 'log-502' } })
  const dead = await lineFor(t, gw, 'log-502')
  assertShape(t, dead, '502')
  t.match(dead, { status: 502, error: 'upstream_unreachable', attempts: 2, pool: 'dead', route: /\/dead$/, target: gone })

  const bad = await rawRequest(portOf(gw.url), 'GET /api/%2e%2e/x HTTP/1.1\r\nHost: a\r\nX-Request-Id: log-400\r\nConnection: close\r\n\r\n')
  t.equal(bad.status, 400)
  const badLine = await lineFor(t, gw, 'log-400')
  assertShape(t, badLine, '400')
  t.match(badLine, { status: 400, error: 'bad_path', attempts: 0 })

  const malformed = await rawRequest(portOf(gw.url), 'GET /%zz HTTP/1.1\r\nHost: a\r\nX-Request-Id: log-400b\r\nConnection: close\r\n\r\n')
  t.equal(malformed.status, 400)
  t.match(await lineFor(t, gw, 'log-400b'), { status: 400, error: 'bad_path' })

  const { pool } = gw.gateway.pools().get('api')!
  for (const target of pool.targets) pool.setStatus(target, { disabled: true })
  await httpRequest(gw.url + '/api/x', { headers: { 'x-request-id': 'log-503' } })
  t.match(await lineFor(t, gw, 'log-503'), { status: 503, error: 'no_available_target', pool: 'api', attempts: 0 })

  t.equal(gw.accessLogs().length, 5, 'five requests, five lines')
})

t.test('a WebSocket upgrade is logged once, when the tunnel closes', async (t) => {
  const u = await upstream(t, 'ws')
  const gw = await gateway(t, { pools: { ws: { targets: [u.url] } }, routes: [{ path: '/ws', pool: 'ws' }] })
  const { response, socket } = await rawHandshake(portOf(gw.url), [
    'GET /ws/chat HTTP/1.1', 'Host: a', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13', 'X-Request-Id: log-ws', '', '',
  ].join('\r\n'))
  t.equal(response.status, 101)
  socket.destroy()
  const line = await lineFor(t, gw, 'log-ws')
  t.match(line, { requestId: 'log-ws', method: 'GET', path: '/ws/chat', status: 101, route: /\/ws$/, pool: 'ws', target: u.url })
  t.type(line.durationMs, 'number')
})

// Last in the file: a streamed request body currently makes the gateway throw when the response closes
// (undici nulls req.socket, see the report), and tap pins that uncaught error on the running test.
t.test('a streamed request body is logged with its size', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { api: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'api' }] })
  const size = 256 * 1024 // above retry.maxBufferBytes: streamed, not buffered
  const res = await httpRequest(gw.url + '/api/upload', { method: 'PUT', body: Buffer.alloc(size, 1), headers: { 'x-request-id': 'log-put' } })
  t.equal(res.status, 200)
  t.equal(res.echo().bodyBytes, size)
  const line = await lineFor(t, gw, 'log-put')
  t.match(line, { method: 'PUT', status: 200, bytesIn: size, attempts: 1 })
})

// README: `targets` lists every target tried "when there was more than one attempt". A one-attempt line leaves it
// out (its `target` says it all), so a query on `targets` finds exactly the retried requests.
t.test('targets is present only when there was more than one attempt', async (t) => {
  const u = await upstream(t, 'u')
  const gone = await refusedUrl(t)
  const gw = await gateway(t, {
    pools: { api: { targets: [u.url] }, dead: { targets: [gone], retry: { attempts: 2 } } },
    routes: [{ path: '/api', pool: 'api' }, { path: '/dead', pool: 'dead' }],
  })

  await httpRequest(gw.url + '/api/x', { headers: { 'x-request-id': 'log-one' } })
  const one = await lineFor(t, gw, 'log-one')
  t.match(one, { status: 200, attempts: 1, target: u.url })
  t.equal(one.targets, undefined, 'one attempt: no targets')

  await httpRequest(gw.url + '/dead/x', { headers: { 'x-request-id': 'log-two' } })
  const two = await lineFor(t, gw, 'log-two')
  t.match(two, { status: 502, attempts: 2 })
  t.same(two.targets, [gone, gone], 'two attempts: both, in order')
})
