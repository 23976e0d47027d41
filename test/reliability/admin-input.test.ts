// Bad input on the operator's side: every malformed, unknown or unauthorised admin call gets a clear 4xx JSON
// error with a catalogue code, and none of them changes anything (GET /status is the same before and after).
import { request } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { ERRORS } from '../../src/errors.ts'
import { gateway, upstream } from '../proxy/setup.ts'

const TOKEN = 'admin-token-0123456789'

interface Answer { status: number; contentType: string; body: Record<string, unknown> }

function call (base: string, method: string, path: string, options: { token?: string; authorization?: string; type?: string; body?: string | Buffer } = {}): Promise<Answer> {
  const url = new URL(path, base)
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.authorization !== undefined) headers.authorization = options.authorization
  if (options.type !== undefined) headers['content-type'] = options.type
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString()
        let body: Record<string, unknown>
        try { body = JSON.parse(text) as Record<string, unknown> } catch { body = { unparsed: text } }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body })
      })
    })
    req.once('error', reject)
    req.end(options.body)
  })
}

/** Writes `bytes` on a new connection: what came back, and whether the listener closed it within 2 s. */
async function sendRaw (t: { teardown (fn: () => void): void }, admin: URL, bytes: string): Promise<{ closed: boolean; received: string }> {
  const socket = connect(Number(admin.port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('error', () => {})
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true))
    setTimeout(() => resolve(false), 2000).unref()
  })
  socket.write(bytes)
  const result = { closed: await closed, received }
  socket.destroy()
  return result
}

t.test('hostile admin calls: a 4xx JSON error each, and no state changes', async (t) => {
  const stable = await upstream(t, 'stable')
  const next = await upstream(t, 'next')
  let loads = 0
  const gw = await gateway(t, {
    admin: { token: TOKEN },
    pools: { stable: { targets: [stable.url] }, next: { targets: [next.url] } },
    routes: [{ name: 'shop', path: '/', pool: 'stable', canary: { pool: 'next', weight: 10 } }],
  }, { defaultMetrics: false, load: async () => { loads++; throw new Error('no reload expected') } })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const target = gw.gateway.pools().get('stable')!.pool.targets[0]!.id
  const before = await call(admin, 'GET', '/status', { token: TOKEN })
  t.equal(before.status, 200)

  const json = 'application/json'
  const cases: { name: string; method: string; path: string; token?: string; authorization?: string; type?: string; body?: string | Buffer; status: number; error: string }[] = [
    { name: 'unknown path', method: 'GET', path: '/nope', status: 404, error: 'not_found' },
    { name: 'unknown path with dots', method: 'GET', path: '/status/../../etc/passwd', status: 404, error: 'not_found' },
    { name: 'wrong method on a read endpoint', method: 'DELETE', path: '/status', token: TOKEN, status: 405, error: 'method_not_allowed' },
    { name: 'GET on an action', method: 'GET', path: '/reload', token: TOKEN, status: 405, error: 'method_not_allowed' },
    // methods Node's parser takes beyond the common ones (WebDAV, cache purges, QUERY) are methods a path does not take too
    { name: 'a WebDAV method on a probe', method: 'PROPFIND', path: '/healthz', status: 405, error: 'method_not_allowed' },
    { name: 'a cache purge on the metrics', method: 'PURGE', path: '/metrics', status: 405, error: 'method_not_allowed' },
    { name: 'QUERY on the status', method: 'QUERY', path: '/status', token: TOKEN, status: 405, error: 'method_not_allowed' },
    { name: 'QUERY with a body of no known type', method: 'QUERY', path: '/status', token: TOKEN, type: 'text/plain', body: 'x', status: 405, error: 'method_not_allowed' },
    { name: 'POST with a body of no known type on a probe', method: 'POST', path: '/healthz', type: 'text/plain', body: 'x', status: 405, error: 'method_not_allowed' },
    { name: 'a WebDAV method without the token', method: 'PROPFIND', path: '/status', status: 401, error: 'unauthorized' },
    { name: 'a WebDAV method on an unknown path', method: 'MKCOL', path: '/nope', status: 404, error: 'not_found' },
    // an unknown path is 404 whatever its body: the body is not parsed first
    { name: 'QUERY with no body on an unknown path', method: 'QUERY', path: '/nope', status: 404, error: 'not_found' },
    { name: 'OPTIONS with a body of no known type on an unknown path', method: 'OPTIONS', path: '/nope', type: 'application/xml', body: '<x/>', status: 404, error: 'not_found' },
    { name: 'POST with a body of no known type on an unknown path', method: 'POST', path: '/nope', token: TOKEN, type: 'text/plain', body: 'x', status: 404, error: 'not_found' },
    { name: 'POST with a body over the limit on an unknown path', method: 'POST', path: '/nope', token: TOKEN, type: json, body: Buffer.alloc(200 * 1024, 32), status: 404, error: 'not_found' },
    { name: 'POST without the token on an unknown path', method: 'POST', path: '/nope', type: 'text/plain', body: 'x', status: 401, error: 'unauthorized' },
    { name: 'no token', method: 'POST', path: '/reload', status: 401, error: 'unauthorized' },
    { name: 'no token to read the state', method: 'GET', path: '/status', status: 401, error: 'unauthorized' },
    { name: 'wrong token', method: 'POST', path: '/reload', token: 'admin-token-9876543210', status: 401, error: 'unauthorized' },
    { name: 'token as Basic credentials', method: 'POST', path: `/pools/stable/targets/${target}/drain`, authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, status: 401, error: 'unauthorized' },
    { name: 'the token without the Bearer scheme', method: 'POST', path: '/pools/stable/failback', authorization: TOKEN, status: 401, error: 'unauthorized' },
    { name: 'empty bearer', method: 'POST', path: `/pools/stable/targets/${target}/disable`, token: '', status: 401, error: 'unauthorized' },
    { name: 'unknown pool', method: 'POST', path: `/pools/nope/targets/${target}/drain`, token: TOKEN, status: 404, error: 'unknown_pool' },
    { name: 'unknown target', method: 'POST', path: '/pools/stable/targets/10.9.9.9:1/drain', token: TOKEN, status: 404, error: 'unknown_target' },
    { name: 'unknown action', method: 'POST', path: `/pools/stable/targets/${target}/explode`, token: TOKEN, status: 404, error: 'not_found' },
    { name: 'action named like an Object property', method: 'POST', path: `/pools/stable/targets/${target}/constructor`, token: TOKEN, status: 404, error: 'not_found' },
    { name: 'pool named like an Object property', method: 'POST', path: '/pools/__proto__/failback', token: TOKEN, status: 404, error: 'unknown_pool' },
    { name: 'body that is not JSON', method: 'POST', path: '/pools/stable/switchover', token: TOKEN, type: json, body: '{"to": backup', status: 400, error: 'bad_request' },
    { name: 'JSON of the wrong shape', method: 'POST', path: '/pools/stable/switchover', token: TOKEN, type: json, body: '{"to":"sideways"}', status: 400, error: 'bad_request' },
    { name: 'JSON array body', method: 'POST', path: '/pools/stable/switchover', token: TOKEN, type: json, body: '["backup"]', status: 400, error: 'bad_request' },
    { name: 'a media type the API does not read', method: 'POST', path: '/pools/stable/switchover', token: TOKEN, type: 'application/x-www-form-urlencoded', body: 'to=backup', status: 400, error: 'bad_request' },
    { name: 'oversized body', method: 'POST', path: '/pools/stable/switchover', token: TOKEN, type: json, body: JSON.stringify({ to: 'backup', pad: 'x'.repeat(64 * 1024) }), status: 413, error: 'payload_too_large' },
    { name: 'unknown route for a canary weight', method: 'POST', path: '/routes/nope/canary', token: TOKEN, type: json, body: '{"weight":50}', status: 404, error: 'unknown_route' },
    { name: 'canary weight out of range', method: 'POST', path: '/routes/shop/canary', token: TOKEN, type: json, body: '{"weight":150}', status: 400, error: 'bad_request' },
    { name: 'canary weight as a string', method: 'POST', path: '/routes/shop/canary', token: TOKEN, type: json, body: '{"weight":"50"}', status: 400, error: 'bad_request' },
    { name: 'canary weight NaN-ish', method: 'POST', path: '/routes/shop/canary', token: TOKEN, type: json, body: '{"weight":1e999}', status: 400, error: 'bad_request' },
  ]
  for (const c of cases) {
    const res = await call(admin, c.method, c.path, c)
    t.equal(res.status, c.status, `${c.name}: status`)
    t.equal(res.body.error, c.error, `${c.name}: error code`)
    t.equal(ERRORS[c.error as keyof typeof ERRORS]?.status, c.status, `${c.name}: the code's catalogue status`)
    t.match(res.contentType, /^application\/json/, `${c.name}: JSON`)
    t.equal(typeof res.body.message, 'string', `${c.name}: a sentence`)
  }
  t.equal(loads, 0, 'no reload ran')
  const after = await call(admin, 'GET', '/status', { token: TOKEN })
  t.strictSame(after.body, before.body, '/status is unchanged')
})

// A refusal given before the body is read (an unknown path, the token, a method the path does not take) to a request
// announcing a body over the admin's 16 KiB, or of no declared length, closes the connection after the answer: Node
// would otherwise read and drop that body to its end, a gigabyte if the client says so, to keep the connection.
t.test('a refusal before a large or unbounded body is read closes the connection; one after a body read whole does not', async (t) => {
  const stable = await upstream(t, 'stable')
  const gw = await gateway(t, { admin: { token: TOKEN }, pools: { stable: { targets: [stable.url] } }, routes: [{ path: '/', pool: 'stable' }] }, { defaultMetrics: false })
  const admin = new URL(await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 }))
  const cases: [name: string, head: string, status: number, closes: boolean][] = [
    ['unknown path, 1 GB announced', `POST /nope HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n`, 404, true],
    ['no token, 1 GB announced', 'POST /reload HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n', 401, true],
    ['unknown path, chunked', `POST /nope HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`, 404, true],
    ['wrong method, 1 GB announced', `PUT /status HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 1000000000\r\n\r\n`, 405, true],
    ['unknown path, a small body: kept', `POST /nope HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 2\r\n\r\n{}`, 404, false],
    // a body read to its end and refused leaves nothing more to come (Fastify's parsers close after any error)
    ['not JSON, a small body read: kept', `POST /reload HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}`, 400, false],
    ['not JSON, chunked and read: kept', `POST /reload HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{x}\r\n0\r\n\r\n`, 400, false],
    ['a type not taken, a small body: kept', `POST /reload HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx`, 400, false],
    // answered without reading the body at all: a probe
    ['a probe, 1 GB announced', 'GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n', 200, true],
  ]
  // side by side: a kept connection is known only once 2 s have passed without its close
  const results = await Promise.all(cases.map(([, head]) => sendRaw(t, admin, head)))
  for (const [i, [name, , status, closes]] of cases.entries()) {
    const { closed, received } = results[i]!
    t.equal(closed, closes, `${name}: ${closes ? 'closed after the answer' : 'kept open'}`)
    t.match(received, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${status}`)
  }
})

// The connection a client asked for is the one it gets, and the answer says so: its own close (RFC 9112 §9.6, a
// kubelet probe's), HTTP/1.0's keep-alive (Appendix C.2.2), also after a refused body read whole.
t.test("an admin answer keeps to the client's own Connection, and says it", async (t) => {
  const stable = await upstream(t, 'stable')
  const gw = await gateway(t, { admin: { token: TOKEN }, pools: { stable: { targets: [stable.url] } }, routes: [{ path: '/', pool: 'stable' }] }, { defaultMetrics: false })
  const admin = new URL(await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 }))
  const notJson = (version: string, connection: string): string =>
    `POST /reload ${version}\r\nHost: a\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: ${connection}\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}`
  const cases: [name: string, request: string, status: number, says: string, closes: boolean][] = [
    ['a probe asking to close', 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 200, 'close', true],
    ['HTTP/1.0 asking to keep it', 'GET /healthz HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', 200, 'keep-alive', false],
    ['not JSON, asking to close', notJson('HTTP/1.1', 'close'), 400, 'close', true],
    ['not JSON, HTTP/1.0 asking to keep it', notJson('HTTP/1.0', 'keep-alive'), 400, 'keep-alive', false],
    ['not JSON, HTTP/1.1', notJson('HTTP/1.1', 'keep-alive').replace('Connection: keep-alive\r\n', ''), 400, 'keep-alive', false],
  ]
  const results = await Promise.all(cases.map(([, request]) => sendRaw(t, admin, request)))
  for (const [i, [name, , status, says, closes]] of cases.entries()) {
    const { closed, received } = results[i]!
    t.equal(closed, closes, `${name}: ${closes ? 'closed' : 'kept open'}`)
    t.match(received, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${status}`)
    t.match(received, new RegExp(`\\r\\nconnection: ${says}\\r\\n`, 'i'), `${name}: says ${says}`)
    // the idle limit's hint, as every kept answer of the listener carries it
    if (!closes) t.match(received, /\r\nkeep-alive: timeout=\d+\r\n/i, `${name}: with its Keep-Alive hint`)
  }
})

// Expect: 100-continue (RFC 9110 §10.1.1): the client is asked for its body only once the call passed the token, the
// origin and the route, and its body is within the limit; a refusal before that comes without a 100.
t.test('Expect: 100-continue is answered 100 only when the body will be read', async (t) => {
  const stable = await upstream(t, 'stable')
  const gw = await gateway(t, { admin: { token: TOKEN }, pools: { stable: { targets: [stable.url] } }, routes: [{ path: '/', pool: 'stable' }] }, { defaultMetrics: false })
  const admin = new URL(await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 }))
  const expect = (path: string, token: boolean, length: number): string =>
    `POST ${path} HTTP/1.1\r\nHost: a\r\n${token ? `Authorization: Bearer ${TOKEN}\r\n` : ''}Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`
  const body = '{"weight":50}'
  const cases: [name: string, head: string, statuses: string[]][] = [
    ['unknown path', expect('/nope', true, body.length), ['404']],
    ['no token', expect('/routes/nope/canary', false, body.length), ['401']],
    ['over the limit', expect('/routes/nope/canary', true, 1_000_000), ['413']],
    ['a call that reads its body', expect('/routes/nope/canary', true, body.length), ['100', '404']],
    // no 1xx to an HTTP/1.0 client (RFC 9110 §15.2), which sends its body without waiting; none for a GET, whose
    // body is never read
    ['HTTP/1.0, the body sent at once', expect('/routes/nope/canary', true, body.length).replace('HTTP/1.1', 'HTTP/1.0') + body, ['404']],
    ['a GET', 'GET /healthz HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n', ['200']],
  ]
  for (const [name, head, statuses] of cases) {
    const socket = connect(Number(admin.port), '127.0.0.1')
    t.teardown(() => socket.destroy())
    let received = ''
    let sent = false
    socket.on('error', () => {})
    const seen = (): string[] => [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!)
    const answered = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      // the body goes out on the 100, as a client that waited for it sends it
      if (seen().at(-1) === '100' && !sent) {
        sent = true
        socket.write(body)
      }
      if (seen().some((s) => s !== '100')) resolve()
    }))
    socket.write(head)
    await answered
    t.same(seen(), statuses, name)
    socket.destroy()
  }
})
