import t from 'tap'
import { buildUpstreamHeaders, clientAddress, connectionTokens, forwardedClient, isSaneRequestId, responseHeaderList, stripResponseHopByHop, type IncomingFacts, type ResponseHeaders, type UpstreamHeaderOptions } from '../../src/proxy/headers.ts'

const freshFacts = (): IncomingFacts => ({ host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false })
const untrusted: UpstreamHeaderOptions = { clientIp: '203.0.113.9', trusted: false, proto: 'http' }
const trusted: UpstreamHeaderOptions = { clientIp: '10.0.0.2', trusted: true, proto: 'http' }

/** Runs buildUpstreamHeaders and returns the output as [name, value] pairs plus the collected facts. */
function build (raw: string[], opts: UpstreamHeaderOptions = untrusted): { pairs: [string, string][]; facts: IncomingFacts; flat: string[] } {
  const facts = freshFacts()
  const flat = buildUpstreamHeaders(raw, opts, facts)
  const pairs: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!])
  return { pairs, facts, flat }
}
const names = (pairs: [string, string][]): string[] => pairs.map(([n]) => n)
const values = (pairs: [string, string][], name: string): string[] => pairs.filter(([n]) => n === name).map(([, v]) => v)

t.test('hop-by-hop headers never cross', async (t) => {
  const hop = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'TE', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization', 'Proxy-Authenticate', 'Proxy-Authentication-Info', 'Trailer']
  for (const name of hop) {
    for (const spelling of [name, name.toLowerCase(), name.toUpperCase()]) {
      const { pairs } = build([spelling, 'x', 'Accept', '*/*'])
      t.notOk(names(pairs).includes(spelling.toLowerCase()), `${spelling} removed`)
      t.strictSame(values(pairs, 'accept'), ['*/*'], `${spelling}: other headers kept`)
    }
  }
})

t.test('headers named in Connection are removed', async (t) => {
  const cases: { raw: string[]; gone: string[]; kept: string[] }[] = [
    { raw: ['Connection', 'X-Secret', 'X-Secret', 's', 'X-Other', 'o'], gone: ['x-secret'], kept: ['x-other'] },
    { raw: ['X-A', '1', 'Connection', 'keep-alive, X-A , x-b', 'X-B', '2', 'X-C', '3'], gone: ['x-a', 'x-b'], kept: ['x-c'] },
    { raw: ['connection', 'X-A', 'CONNECTION', 'X-B', 'x-a', '1', 'x-b', '2', 'x-c', '3'], gone: ['x-a', 'x-b'], kept: ['x-c'] },
    { raw: ['Connection', ',, ,X-A,', 'X-A', '1', 'X-C', '3'], gone: ['x-a'], kept: ['x-c'] },
    { raw: ['Connection', 'close', 'Close', 'c', 'X-C', '3'], gone: ['close', 'connection'], kept: ['x-c'] },
  ]
  for (const c of cases) {
    const { pairs } = build(c.raw)
    for (const g of c.gone) t.notOk(names(pairs).includes(g), `${JSON.stringify(c.raw)}: ${g} removed`)
    for (const k of c.kept) t.ok(names(pairs).includes(k), `${JSON.stringify(c.raw)}: ${k} kept`)
  }
})

t.test('end-to-end headers pass through in order, values untouched, names lower-cased', async (t) => {
  const { pairs } = build(['Accept', 'text/html', 'Cookie', 'a=1', 'X-Custom', '  spaced  ', 'Accept', 'application/json', 'Authorization', 'Bearer t'])
  t.strictSame(pairs.slice(0, 5), [['accept', 'text/html'], ['cookie', 'a=1'], ['x-custom', '  spaced  '], ['accept', 'application/json'], ['authorization', 'Bearer t']])
})

t.test('X-Forwarded-For', async (t) => {
  const cases: { name: string; raw: string[]; opts: UpstreamHeaderOptions; want: string }[] = [
    { name: 'absent → client ip', raw: [], opts: untrusted, want: '203.0.113.9' },
    { name: 'untrusted peer: replaced', raw: ['X-Forwarded-For', '1.1.1.1'], opts: untrusted, want: '203.0.113.9' },
    { name: 'untrusted peer: every copy replaced', raw: ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'], opts: untrusted, want: '203.0.113.9' },
    { name: 'trusted peer: appended', raw: ['X-Forwarded-For', '1.1.1.1, 2.2.2.2'], opts: trusted, want: '1.1.1.1, 2.2.2.2, 10.0.0.2' },
    { name: 'trusted peer: several headers joined then appended', raw: ['X-Forwarded-For', '1.1.1.1', 'X-Forwarded-For', '2.2.2.2'], opts: trusted, want: '1.1.1.1, 2.2.2.2, 10.0.0.2' },
    { name: 'trusted peer, no header: client ip', raw: [], opts: trusted, want: '10.0.0.2' },
  ]
  for (const c of cases) t.strictSame(values(build(c.raw, c.opts).pairs, 'x-forwarded-for'), [c.want], c.name)
})

t.test('X-Forwarded-Proto and X-Forwarded-Host', async (t) => {
  const cases: { name: string; raw: string[]; opts: UpstreamHeaderOptions; proto: string; host: string[] }[] = [
    { name: 'set from the connection', raw: ['Host', 'shop.example'], opts: untrusted, proto: 'http', host: ['shop.example'] },
    { name: 'https listener', raw: ['Host', 'shop.example'], opts: { ...untrusted, proto: 'https' }, proto: 'https', host: ['shop.example'] },
    { name: 'untrusted values replaced', raw: ['Host', 'shop.example', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example'], opts: untrusted, proto: 'http', host: ['shop.example'] },
    { name: 'trusted values kept', raw: ['Host', 'internal:8080', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'shop.example'], opts: trusted, proto: 'https', host: ['shop.example'] },
    { name: 'trusted: first value wins', raw: ['X-Forwarded-Proto', 'https', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'a', 'X-Forwarded-Host', 'b'], opts: trusted, proto: 'https', host: ['a'] },
    { name: 'trusted without values: own', raw: ['Host', 'h'], opts: trusted, proto: 'http', host: ['h'] },
    { name: 'no host at all: no X-Forwarded-Host', raw: [], opts: untrusted, proto: 'http', host: [] },
  ]
  for (const c of cases) {
    const { pairs } = build(c.raw, c.opts)
    t.strictSame(values(pairs, 'x-forwarded-proto'), [c.proto], `${c.name}: proto`)
    t.strictSame(values(pairs, 'x-forwarded-host'), c.host, `${c.name}: host`)
  }
})

t.test('facts are collected', async (t) => {
  const { pairs, facts } = build([
    'Host', 'api.example:8443',
    'X-Request-Id', 'req-123',
    'Content-Length', '42',
    'Idempotency-Key', 'k-1',
    'Accept', '*/*',
  ])
  t.strictSame(facts, { host: 'api.example:8443', requestId: 'req-123', contentLength: '42', chunked: false, idempotencyKey: true })
  t.notOk(names(pairs).includes('host'), 'host is appended by the caller')
  t.notOk(names(pairs).includes('x-request-id'), 'x-request-id is appended by the caller')
  t.strictSame(values(pairs, 'content-length'), ['42'], 'content-length forwarded')
  t.strictSame(values(pairs, 'idempotency-key'), ['k-1'], 'idempotency-key forwarded')

  const chunked = build(['Transfer-Encoding', 'chunked'])
  t.equal(chunked.facts.chunked, true)
  t.notOk(names(chunked.pairs).includes('transfer-encoding'), 'transfer-encoding is re-framed, not forwarded')

  const none = build(['Accept', '*/*'])
  t.strictSame(none.facts, freshFacts(), 'nothing found, nothing set')
})

t.test('the answer closes the connection: Connection: close, or an upgrade that reached the request path', async (t) => {
  t.equal(build(['Connection', 'keep-alive, Close']).facts.connectionClose, true)
  // Node's parser reads Connection: upgrade with an Upgrade field as an upgrade, and drops what is pipelined behind it
  t.equal(build(['Upgrade', 'h2c', 'Connection', 'Upgrade, HTTP2-Settings']).facts.connectionClose, true)
  t.equal(build(['Connection', 'upgrade', 'Upgrade', 'h2c']).facts.connectionClose, true, 'in either order')
  t.equal(build(['Upgrade', 'h2c']).facts.connectionClose, undefined, 'an Upgrade field Connection does not name is no upgrade')
  t.equal(build(['Connection', 'upgrade']).facts.connectionClose, undefined, 'nor is the token without the field')
  t.notOk(names(build(['Upgrade', 'h2c', 'Connection', 'upgrade']).pairs).includes('upgrade'), 'Upgrade stays hop-by-hop')
})

// RFC 9110 §7.6.3: the gateway's Via entry is appended to the request's list; a Via that holds its mark twice has
// been here twice: a loop (once is a hairpin through another proxy, let through)
t.test("Via: the gateway's entry ends the list; its own mark twice is a loop", async (t) => {
  const via = { entry: '1.1 gw (switchyard/0123abcd)', mark: 'switchyard/0123abcd' }
  const opts = { ...untrusted, via }
  t.strictSame(values(build(['Accept', '*/*'], opts).pairs, 'via'), [via.entry], 'none sent: one entry')
  t.strictSame(values(build(['Via', '1.0 fred, 1.1 p.example'], opts).pairs, 'via'), [`1.0 fred, 1.1 p.example, ${via.entry}`], 'appended to the list')
  t.strictSame(values(build(['Via', '1.1 a', 'X', 'x', 'VIA', '1.1 b'], opts).pairs, 'via'), ['1.1 a', `1.1 b, ${via.entry}`], 'to the last line')
  t.strictSame(values(build(['Via', ''], opts).pairs, 'via'), [via.entry], 'an empty line: the entry alone')
  t.strictSame(values(build(['Connection', 'via', 'Via', '1.1 hop'], opts).pairs, 'via'), [via.entry], 'a Via the Connection field names is dropped')
  t.strictSame(values(build(['Via', '1.1 a'], untrusted).pairs, 'via'), ['1.1 a'], 'no entry of its own: the client\'s passes unchanged')
  t.equal(build(['Via', '1.1 a'], opts).facts.looped, undefined, 'another instance: no loop')
  t.equal(build(['Via', '1.1 a, 1.1 gw (switchyard/0123abcd)'], opts).facts.looped, undefined, 'its own mark once: a hairpin, no loop')
  t.equal(build(['Via', '1.1 gw (switchyard/0123abcd), 1.1 a, 1.1 gw (switchyard/0123abcd)'], opts).facts.looped, true, 'twice in one line: a loop')
  t.equal(build(['Via', '1.1 gw (switchyard/0123abcd)', 'Via', '1.1 a, 1.1 gw (switchyard/0123abcd)'], opts).facts.looped, true, 'twice over two lines: a loop')
  t.equal(build(['Via', '1.1 gw (switchyard/0123abcd), 1.1 gw (switchyard/0123abcd)'], untrusted).facts.looped, undefined, 'Via off: no loop found')
})

t.test('Expect is dropped', async (t) => {
  const { pairs } = build(['Expect', '100-continue', 'Content-Length', '5'])
  t.notOk(names(pairs).includes('expect'))
  t.strictSame(values(pairs, 'content-length'), ['5'])
})

t.test('the output is a flat name/value list ending with the forwarding headers', async (t) => {
  const { flat, pairs } = build(['Host', 'h', 'Accept', '*/*'])
  t.equal(flat.length % 2, 0)
  t.strictSame(pairs, [['accept', '*/*'], ['x-forwarded-for', '203.0.113.9'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'h']])
})

t.test('stripResponseHopByHop', async (t) => {
  const headers: ResponseHeaders = {
    'content-type': 'text/plain',
    connection: 'keep-alive, X-Internal',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-internal': 'secret',
    upgrade: 'h2c',
    'proxy-authenticate': 'Basic',
    'proxy-authentication-info': 'nextnonce="n"',
    'proxy-connection': 'keep-alive',
    te: 'trailers',
    trailer: 'x-checksum',
    'set-cookie': ['a=1', 'b=2'],
    'x-kept': 'yes',
  }
  const out = stripResponseHopByHop(headers)
  t.equal(out, headers, 'in place')
  t.strictSame(out, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-kept': 'yes' })
  t.strictSame(stripResponseHopByHop({ 'x-a': '1' }), { 'x-a': '1' }, 'nothing to strip')
  t.strictSame(stripResponseHopByHop({ connection: ['close', 'X-A'], 'x-a': '1', 'x-b': '2' }), { 'x-b': '2' }, 'connection as an array')
})

t.test('isSaneRequestId', async (t) => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['a', true],
    ['req-123_ABC.xyz', true],
    ['0f8fad5b-d9cb-469f-a165-70867728950e', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['has space', false],
    ['abc\n', false],
    ['abc\r\nX-Injected: 1', false],
    ['a/b', false],
    ['a:b', false],
    ['ümlaut', false],
    ['<script>', false],
  ]
  for (const [value, want] of cases) t.equal(isSaneRequestId(value), want, JSON.stringify(value))
})

t.test('clientAddress', async (t) => {
  const cases: [string | undefined, string][] = [
    [undefined, 'unknown'],
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
  ]
  for (const [remote, want] of cases) t.equal(clientAddress(remote), want, String(remote))
})

t.test('responseHeaderList: a flat list without hop-by-hop headers, the ones the proxy sets, or undefined values', async (t) => {
  const headers: ResponseHeaders = { 'content-type': 'text/plain', connection: 'keep-alive, X-Secret', 'keep-alive': 'timeout=5', 'x-secret': 's', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'], 'x-request-id': 'upstream', 'x-read-after-write': '1', 'x-gone': undefined }
  const before = { ...headers }
  t.strictSame(responseHeaderList(headers, 'x-request-id'), ['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2'], 'x-read-after-write', '1'])
  t.strictSame(responseHeaderList(headers, 'x-request-id', 'x-read-after-write'), ['content-type', 'text/plain', 'set-cookie', ['a=1', 'b=2']])
  t.strictSame(headers, before, "the upstream's object is left as it was")
  t.strictSame(responseHeaderList({ connection: ['close', 'X-A'], 'x-a': '1', 'x-b': '2' }, 'x-request-id'), ['x-b', '2'], 'connection as an array')
})

t.test('responseHeaderList for a 204 leaves Content-Length out, and only then', async (t) => {
  const headers: ResponseHeaders = { 'content-length': '5', 'x-a': '1', 'set-cookie': ['a=1'] }
  t.strictSame(responseHeaderList(headers, 'x-request-id', undefined, true), ['x-a', '1', 'set-cookie', ['a=1']])
  t.strictSame(responseHeaderList(headers, 'x-request-id'), ['content-length', '5', 'x-a', '1', 'set-cookie', ['a=1']])
})

// A response without a Connection field names no field to drop: connectionTokens(undefined) is empty. Parsed as the
// string 'undefined', it would take a field of that name off every answer's head (stripResponseHopByHop: an
// upgrade's 101) and out of every answer's trailer section (passTrailers), though nothing named it hop-by-hop.

t.test('connection-tokens-absent-field', async (t) => {
  t.test('no Connection field: no tokens', async (t) => {
    t.strictSame([...connectionTokens(undefined)], [])
  })

  t.test('a field named "undefined" stays when no Connection field names it', async (t) => {
    t.strictSame(stripResponseHopByHop({ undefined: 'u', 'x-b': '2' }), { undefined: 'u', 'x-b': '2' }, 'stripResponseHopByHop')
    t.strictSame(responseHeaderList({ undefined: 'u', 'x-b': '2' }, 'x-request-id'), ['undefined', 'u', 'x-b', '2'], 'responseHeaderList')
  })

  t.test('the tokens of one field and of repeated fields, trimmed and lower case', async (t) => {
    t.strictSame([...connectionTokens(' Keep-Alive , X-A,,')].sort(), ['', 'keep-alive', 'x-a'])
    t.strictSame([...connectionTokens(['close', 'X-B '])].sort(), ['close', 'x-b'])
  })
})

// The client behind trusted proxies, for hash keys and canary stickiness: the rightmost untrusted X-Forwarded-For
// entry, in one spelling per address (ports, brackets, case, zeros and IPv4-mapped forms dropped), and the peer when
// an entry is no address. Before, '203.0.113.7:50000' keyed by its port and 'garbage' became a key.
t.test('forwardedClient', async (t) => {
  const trusts = (address: string): boolean => address === '10.0.0.1' || address === '10.0.0.2' || address === 'fd00::1'
  const cases: [xff: string, want: string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7, 10.0.0.2', '203.0.113.7'],
    ['198.51.100.1, 203.0.113.7, 10.0.0.2, 10.0.0.1', '203.0.113.7'],
    ['203.0.113.7:50000', '203.0.113.7'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::FFFF:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['203.0.113.7, [fd00:0::1]:80', '203.0.113.7'],
    ['10.0.0.2, 10.0.0.1', '10.0.0.2'],
    ['203.0.113.7, , 10.0.0.2,', '203.0.113.7'],
    ['203.0.113.7, garbage', 'peer'],
    ['garbage, 203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:http', 'peer'],
    ['203.0.113.7:123456', 'peer'],
    ['[2001:db8::1', 'peer'],
    ['[2001:db8::1]x', 'peer'],
    ['01.2.3.4', 'peer'],
    ['', 'peer'],
    [' , ', 'peer'],
  ]
  for (const [xff, want] of cases) t.equal(forwardedClient(xff, 'peer', trusts), want, JSON.stringify(xff))
})
