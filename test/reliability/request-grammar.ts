// A grammar of HTTP/1.1 requests with mutations, for the front-door fuzz test (request-fuzz.test.ts). Each
// generated piece carries what it implies (must never reach an upstream, ends the framing, ambiguous framing…),
// decided here from how the bytes were built, never from what the gateway answered.
// Routes behind the gateway under test: /payment → 'payment', /other and /upload (100-byte bodies) → 'other',
// /api → 'strip' (stripPrefix); nothing else is routed.
import fc from 'fast-check'
import { KNOWN_505_KEPT, KNOWN_CLOSE_IGNORED, KNOWN_HOST_ABSOLUTE, KNOWN_NOT_HTTP, KNOWN_TE10_KEPT } from './request-fuzz-known.ts'

export interface RequestFlags {
  /** Must never reach an upstream: refused syntax, framing, Host or target, an unrouted path, over a limit. */
  mustNotReach: boolean
  /** Nothing written after it may reach an upstream: the parser fails here, or the framing is unknown from here. */
  poison: boolean
  /** Content-Length / Transfer-Encoding ambiguous or unknowable: a 4xx (or nothing) and the connection closed. */
  ambiguous: boolean
  /** The client asked to close after it (Connection: close, or HTTP/1.0 without keep-alive). */
  closes: boolean
  /** Its bytes do not complete it (a body shorter than its framing): the gateway waits for more. */
  incomplete: boolean
}

export interface FuzzRequest extends RequestFlags {
  /** The request's bytes, one char per byte (latin1); its first field line is `X-Fuzz-Seq: <index in the case>`. */
  bytes: string
  /** A safe method (RFC 9110 §9.2.1): pipelined safe requests may be processed in parallel, others not. */
  safe: boolean
  /** A known gateway bug (request-fuzz-known.ts) this request runs into by how it was built. */
  known: string | undefined
  /** Lower-case names of fields it carries that must never be forwarded (hop-by-hop, named by Connection, '_'). */
  mustDrop: string[]
  /** Why each flag was set. */
  notes: string[]
}

type Flag = keyof RequestFlags

interface Piece {
  text: string
  flags: readonly Flag[]
  note?: string
}

const p = (text: string, flags: readonly Flag[] = [], note?: string): Piece => note === undefined ? { text, flags } : { text, flags, note }
const refused: readonly Flag[] = ['mustNotReach']
const broken: readonly Flag[] = ['mustNotReach', 'poison']
const ambiguous: readonly Flag[] = ['mustNotReach', 'poison', 'ambiguous']

/** Tags each generated request with its index in the case, so what reached an upstream can be told apart. */
export const SEQ_HEADER = 'X-Fuzz-Seq'
const SEQ_PLACEHOLDER = '\u0000seq\u0000'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'expect'])
/** Fields the gateway writes upstream itself: named in Connection, the client's copy goes, the gateway's stays. */
const GATEWAY_SETS = new Set(['host', 'content-length', 'transfer-encoding', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'connection'])

/** A request hidden inside a body: only ever body bytes, never a request the client framed. */
export const SMUGGLED = 'GET /payment/smuggled HTTP/1.1\r\nHost: gw.example\r\n\r\n'

const method: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS').map((m) => p(m)) },
  // tokens Node may not know, lower case, CONNECT: no promise about reaching, only the common properties
  { weight: 2, arbitrary: fc.constantFrom('PROPFIND', 'PURGE', 'TRACE', 'M-SEARCH', 'FOO', 'X', 'get', 'Post', 'CONNECT', 'QUERY', 'MKCOL', 'SEARCH', 'LINK', 'SOURCE', 'PRI').map((m) => p(m, [], `method ${m}`)) },
  // RTSP's methods: Node's parser reads them with an RTSP/1.0 request line (see version)
  { weight: 1, arbitrary: fc.constantFrom('DESCRIBE', 'SETUP', 'PLAY', 'ANNOUNCE', 'GET_PARAMETER', 'TEARDOWN', 'RECORD').map((m) => p(m, [], `method ${m}`)) },
  { weight: 1, arbitrary: fc.constantFrom('G@T', 'GE T', 'GET\x00', '\xffGET', '', 'G\tET', 'GET(', 'G\x7fT', 'GET\r').map((m) => p(m, broken, 'method not a token')) },
)

// never a routed prefix's own name: a path built under an unrouted prefix must stay unrouted
const word = fc.stringMatching(/^[a-z0-9_~-]{1,6}$/).filter((w) => !['other', 'upload', 'api'].includes(w))
/** Segments that are, or some upstream reads as, dot segments: a path with one may climb out of its prefix. */
const dotSegment = fc.constantFrom('.', '..', '%2e', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '..;', '..;x', '.;', '%2e%2e;x')
const oddSegment = fc.constantFrom('%00', '%2f', '%2F', '%5c', '%25', '%252e%252e', '%20', '%zz', '%', '%e9', 'a%00b', ';x', 'a;b=c', '~', '\\', '%0d%0a', '%7f', '%ff', '@', ':', '%3a', '*', "'", '$', '%41')
/** Raw bytes a request target may not hold (RFC 9112 §3.2, RFC 3986 §2): the request line is broken. */
const rawSegment = fc.constantFrom('a b', 'a\tb', 'a\x7f', 'caf\xc3\xa9', 'a\x00', 'a\x01', 'a\rb', 'a\nb')

interface Segment { text: string; dot: boolean; raw: boolean }
const segment: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 12, arbitrary: word.map((text) => ({ text, dot: false, raw: false })) },
  { weight: 1, arbitrary: dotSegment.map((text) => ({ text, dot: true, raw: false })) },
  { weight: 1, arbitrary: oddSegment.map((text) => ({ text, dot: false, raw: false })) },
  { weight: 1, arbitrary: rawSegment.map((text) => ({ text, dot: false, raw: true })) },
)

interface Prefix { text: string; routed: boolean; upload: boolean }
const prefix: fc.Arbitrary<Prefix> = fc.oneof(
  // an encoded letter is the letter (RFC 3986 §6.2.2.2): routed as /payment and /api, and sent decoded
  { weight: 3, arbitrary: fc.constantFrom('/payment', '/other', '/upload', '/api', '//payment', '/%70ayment', '/%61%70%69').map((text) => ({ text, routed: true, upload: text === '/upload' })) },
  // not under any route prefix: another segment, case, an encoded letter of another name, a parameter
  { weight: 1, arbitrary: fc.constantFrom('/nope', '/paymentX', '/PAYMENT', '/%70aymentX', '/%50AYMENT', '/pay', '/payment;x', '/api2', '/').map((text) => ({ text, routed: false, upload: false })) },
)

const suffix = fc.constantFrom('', '', '', '/', '?x=1', '?a=/../..&b=%2f', '?', '??', '?q=%00', '#frag', '#/../x', '?a=b#c')

const originTarget: fc.Arbitrary<Piece> = fc.tuple(prefix, fc.array(fc.tuple(fc.constantFrom('/', '/', '/', '//'), segment), { maxLength: 3 }), suffix).map(([pre, segs, suf]) => {
  const text = (pre.text === '/' && segs.length > 0 ? '' : pre.text) + segs.map(([sep, s]) => sep + s.text).join('') + suf
  const flags: Flag[] = []
  const notes: string[] = []
  if (segs.some(([, s]) => s.raw)) {
    flags.push(...broken)
    notes.push('raw bytes in the target')
  }
  const mayClimb = segs.some(([, s]) => s.dot)
  if (!pre.routed && !mayClimb) {
    flags.push('mustNotReach')
    notes.push('unrouted prefix')
  }
  // the upload route's body limit applies only to a target surely under /upload
  const upload = pre.upload && !mayClimb
  return { text, flags, note: notes.join(', ') || undefined, upload } as Piece & { upload: boolean }
})

type Target = Piece & { upload?: boolean; absolute?: boolean; long?: boolean }
const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 20, arbitrary: originTarget },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('http://gw.example', 'HTTP://gw.example:80', 'http://10.0.0.1:22', 'https://x.example', 'http://[::1]', 'http://a%00b', 'http://a:99999', 'http://a..b', 'http://-', 'http://gw.example:', 'http://a%20b.example'), originTarget).map(([authority, o]) => ({ ...o, absolute: true, text: authority + (o.text.startsWith('/') ? o.text : `/${o.text}`) })) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'ftp://x.example/payment', 'http://user@x.example/payment', 'http://', 'http:///payment', 'http://gw.example', 'http://gw.example?x=1', 'http://[::1/payment', 'http:/payment', 'http:payment').map((text) => ({ ...p(text, refused, 'refused target form'), absolute: /^https?:\/\//i.test(text) })) },
  { weight: 1, arbitrary: fc.constantFrom('http://a b/payment', '/payment/\x00').map((text) => p(text, broken, 'broken target')) },
  // over server.maxUrlBytes (1024): 414
  { weight: 1, arbitrary: fc.integer({ min: 1030, max: 1200 }).map((n) => ({ ...p(`/payment/${'a'.repeat(n)}`, refused, 'target over maxUrlBytes'), long: true })) },
)

interface Version { text: string; flags: readonly Flag[]; minor: 0 | 1 | undefined; note?: string; known?: string; otherMajor?: true }
const version: fc.Arbitrary<Version> = fc.oneof(
  { weight: 30, arbitrary: fc.constant<Version>({ text: ' HTTP/1.1', flags: [], minor: 1 }) },
  { weight: 6, arbitrary: fc.constant<Version>({ text: ' HTTP/1.0', flags: [], minor: 0 }) },
  // another major version, or none (HTTP/0.9): framing unknown from here (505 or 400)
  { weight: 1, arbitrary: fc.constantFrom(' HTTP/2.0', ' HTTP/3.0', ' HTTP/0.9', '').map((text): Version => ({ text, flags: broken, minor: undefined, note: `version '${text}'`, otherMajor: true })) },
  { weight: 1, arbitrary: fc.constantFrom(' http/1.1', ' HTTP/1.1 x', ' HTTP/11', ' HTTPS/1.1', ' HTTP/1.1\x00', ' HTTP/1.', ' HTTP/ 1.1').map((text): Version => ({ text, flags: broken, minor: undefined, note: 'garbled version' })) },
  // another protocol's name (RFC 9112 §2.3: HTTP-name is "HTTP"): Node's parser reads RTSP and ICE request lines
  { weight: 1, arbitrary: fc.constantFrom(' RTSP/1.0', ' ICE/1.0', ' RTSP/2.0').map((text): Version => ({ text, flags: broken, minor: undefined, note: `not HTTP: '${text.trim()}'`, known: KNOWN_NOT_HTTP })) },
  // a higher minor version: RFC 9110 §2.5 says serve as 1.1, Node refuses; no promise either way
  { weight: 1, arbitrary: fc.constantFrom(' HTTP/1.2', ' HTTP/1.9').map((text): Version => ({ text, flags: [], minor: undefined, note: `version '${text}'` })) },
)

interface Lines { lines: readonly string[]; flags: readonly Flag[]; note?: string; noHost?: boolean; badValue?: boolean }
const lines = (ls: readonly string[], flags: readonly Flag[] = [], note?: string): Lines => note === undefined ? { lines: ls, flags } : { lines: ls, flags, note }

const host: fc.Arbitrary<Lines> = fc.oneof(
  { weight: 24, arbitrary: fc.constant(lines(['Host: gw.example'])) },
  { weight: 4, arbitrary: fc.constantFrom(['Host: gw.example:8080'], ['host: GW.example'], ['Host: [::1]:80'], ['HOST:gw.example'], ['Host: gw.example '], ['Host:\tgw.example']).map((ls) => lines(ls)) },
  { weight: 1, arbitrary: fc.constant<Lines>({ lines: [], flags: [], noHost: true }) },
  { weight: 1, arbitrary: fc.constantFrom(['Host: a.example', 'Host: b.example'], ['Host: gw.example', 'Host: gw.example']).map((ls) => lines(ls, refused, 'two Host lines')) },
  // not an authority (RFC 9110 §7.2): refused
  { weight: 2, arbitrary: fc.constantFrom(['Host: a b'], ['Host: a/b'], ['Host: user@a'], ['Host:'], ['Host: :80'], ['Host: a, b'], ['Host: a:8x'], ['Host: caf\xe9']).map((ls): Lines => ({ lines: ls, flags: [], badValue: true })) },
  { weight: 1, arbitrary: fc.constantFrom(['Host: a\x00b'], ['Host: a\rb'], ['Host : gw.example'], ['Host: gw.example', ' x']).map((ls) => lines(ls, broken, 'broken Host line')) },
)

const RESERVED_NAMES = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'keep-alive', 'te', 'trailer'])
const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/).filter((n) => !RESERVED_NAMES.has(n.toLowerCase()))
// field-vchar, SP, HTAB and obs-text (RFC 9110 §5.5)
const headerValue = fc.stringMatching(/^[\x20-\x7e\t\x80-\xff]{0,16}$/)

const extraHeader: fc.Arbitrary<Lines> = fc.oneof(
  { weight: 16, arbitrary: fc.tuple(headerName, headerValue).map(([n, v]) => lines([`${n}: ${v}`])) },
  { weight: 4, arbitrary: fc.constantFrom('X-Forwarded-For: 1.2.3.4', 'X-Forwarded-For: garbage, , 5.6.7.8', 'X-Forwarded-Proto: gopher', 'X-Forwarded-Host: evil.example', 'X-Forwarded-Host: a b', 'Forwarded: for=1.2.3.4;proto=https', 'X-Real-IP: ::1', 'X-Request-Id: ../../etc', 'X-Request-Id: ', 'Keep-Alive: timeout=1, max=1', 'TE: trailers', 'Proxy-Connection: keep-alive', 'X_Auth_User: admin', 'Max-Forwards: 0', 'Idempotency-Key: k1', 'Expect: 100-continue', 'expect: 100-Continue', 'Cookie: a=b', 'X-Foo: 1', 'Upgrade: h2c').map((l) => lines([l])) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X(A)', 'X A', '', 'X\x00A', 'X"A', 'X\\A', 'X@A', 'X\x7fA', 'X\xe9', 'X-A '), headerValue).map(([n, v]) => lines([`${n}: ${v}`], broken, 'bad field name')) },
  { weight: 1, arbitrary: fc.tuple(headerName, headerValue, fc.constantFrom('\r', '\n', '\x00', '\x7f', '\x01', '\x0b', '\r\n continued', '\r\n\tcontinued', '\rTransfer-Encoding: chunked'), headerValue).map(([n, a, bad, b]) => lines([`${n}: ${a}${bad}${b}`], broken, 'bad field value')) },
  { weight: 1, arbitrary: fc.constantFrom('nocolon', ': v').map((l) => lines([l], broken, 'not a field line')) },
  // an expectation other than 100-continue: a server MAY answer 417 (RFC 9110 §10.1.1); no promise either way
  { weight: 1, arbitrary: fc.constantFrom('Expect: foo', 'Expect: 100-continue, foo').map((l) => lines([l])) },
  // over server.maxHeaderBytes (4096): 431
  { weight: 1, arbitrary: fc.integer({ min: 4100, max: 4400 }).map((n) => lines([`X-Big: ${'b'.repeat(n)}`], broken, 'headers over maxHeaderBytes')) },
)

const connectionToken = fc.constantFrom('keep-alive', 'close', 'Close', 'x-foo', 'te', 'x-forwarded-for', 'content-length', 'transfer-encoding', 'host', 'upgrade', 'x-request-id', 'cookie')
const connection: fc.Arbitrary<readonly string[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant([]) },
  { weight: 2, arbitrary: fc.array(connectionToken, { minLength: 1, maxLength: 3 }).map((ts) => [`Connection: ${ts.join(', ')}`]) },
  { weight: 1, arbitrary: fc.tuple(connectionToken, connectionToken).map(([a, b]) => [`Connection: ${a}`, `connection: ${b}`]) },
)

interface Framing { lines: readonly string[]; body: string; flags: readonly Flag[]; note?: string; te: boolean; big?: boolean }
const framing = (ls: readonly string[], body: string, flags: readonly Flag[] = [], note?: string, extra: Partial<Framing> = {}): Framing =>
  ({ lines: ls, body, flags, te: ls.some((l) => /transfer-encoding/i.test(l)), ...(note === undefined ? {} : { note }), ...extra })

const body = fc.stringMatching(/^[a-zA-Z0-9 {}":,\r\n]{0,20}$/)
const chunk = fc.stringMatching(/^[a-zA-Z0-9 \r\n]{1,12}$/)
const hex = (n: number, upper: boolean): string => upper ? n.toString(16).toUpperCase() : n.toString(16)

const chunked = fc.tuple(fc.array(fc.oneof({ weight: 5, arbitrary: chunk }, { weight: 1, arbitrary: fc.constant(SMUGGLED) }), { maxLength: 3 }), fc.boolean(), fc.constantFrom('', ';a=1', ';a="b c"'), fc.constantFrom('', 'X-T: 1\r\n'))
  .map(([chunks, upper, ext, trailer]) => chunks.map((c) => `${hex(c.length, upper)}${ext}\r\n${c}\r\n`).join('') + `0${ext}\r\n${trailer}\r\n`)

const clLine = (n: number | string): fc.Arbitrary<string> => fc.constantFrom(`Content-Length: ${n}`, `content-length:${n}`, `Content-Length:  ${n} `, `Content-Length: 00${n}`)

const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 14, arbitrary: fc.constant(framing([], '')) },
  { weight: 10, arbitrary: body.chain((b) => clLine(b.length).map((l) => framing([l], b))) },
  { weight: 1, arbitrary: clLine(SMUGGLED.length).map((l) => framing([l], SMUGGLED, [], 'a request inside a Content-Length body')) },
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('chunked', 'Chunked', 'CHUNKED', ' chunked ', '\tchunked'), chunked).map(([te, b]) => framing([`Transfer-Encoding: ${te}`], b)) },
  // inconsistent with its framing: shorter (the rest of the write becomes body), longer (garbage after)
  { weight: 1, arbitrary: fc.tuple(body, fc.integer({ min: 1, max: 10 })).map(([b, more]) => framing([`Content-Length: ${b.length + more}`], b, ['incomplete', 'poison'], 'body shorter than Content-Length')) },
  { weight: 1, arbitrary: fc.tuple(body, fc.stringMatching(/^[xq]{1,5}$/)).map(([b, junk]) => framing([`Content-Length: ${b.length}`], b + junk, ['poison'], 'body longer than Content-Length')) },
  { weight: 1, arbitrary: fc.tuple(body, fc.stringMatching(/^[xq]{1,5}$/)).map(([b, junk]) => framing([], b + junk, ['poison'], 'body without framing')) },
  { weight: 2, arbitrary: fc.constantFrom('zz\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX\r\n0\r\n\r\n', '5\nhello\r\n0\r\n\r\n', 'FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n', '5;\x00\r\nhello\r\n0\r\n\r\n', '-5\r\nhello\r\n0\r\n\r\n', '3\r\nhello\r\n0\r\n\r\n')
    .map((b) => framing(['Transfer-Encoding: chunked'], b, broken, 'broken chunked body')) },
  { weight: 1, arbitrary: fc.constantFrom('5\r\nhello\r\n', '5\r\nhel', '0\r\n', 'a\r\nhello\r\n0\r\n\r\n')
    .map((b) => framing(['Transfer-Encoding: chunked'], b, ['mustNotReach', 'poison', 'incomplete'], 'chunked body cut short')) },
  // ambiguous or unknowable framing (RFC 9112 §6.1, §6.3): refused, connection closed, nothing behind it read
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 60 }), fc.constantFrom('chunked', 'xchunked', 'identity', 'gzip, chunked', 'chunked, identity'), fc.boolean())
    .map(([n, te, clFirst]) => {
      const ls = [`Content-Length: ${n}`, `Transfer-Encoding: ${te}`]
      return framing(clFirst ? ls : ls.reverse(), `0\r\n\r\n${SMUGGLED}`, ambiguous, 'Content-Length and Transfer-Encoding')
    }) },
  { weight: 2, arbitrary: fc.constantFrom(['Content-Length: 5', 'Content-Length: 5'], ['Content-Length: 5', 'Content-Length: 6'], ['Content-Length: 5, 5'], ['Content-Length: 5, 6'], ['Content-Length: +5'], ['Content-Length: -1'], ['Content-Length: 0x5'], ['Content-Length: 1 0'], ['Content-Length: 99999999999999999999999'], ['Content-Length:'], ['Content-Length: 5a'])
    .map((ls) => framing(ls, `hello${SMUGGLED}`, ambiguous, 'bad or repeated Content-Length')) },
  { weight: 2, arbitrary: fc.constantFrom(['Transfer-Encoding: chunked, gzip'], ['Transfer-Encoding: gzip'], ['Transfer-Encoding: identity'], ['Transfer-Encoding: xchunked'], ['Transfer-Encoding: chunked, chunked'], ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], ['Transfer-Encoding: \x0bchunked'], ['Transfer-Encoding: chunked', 'Transfer-Encoding: gzip'])
    .map((ls) => framing(ls, `0\r\n\r\n${SMUGGLED}`, ambiguous, 'Transfer-Encoding without chunked last, once')) },
  { weight: 1, arbitrary: fc.constantFrom(['Transfer-Encoding : chunked', 'Content-Length: 3'], ['X-A: 1', ' Transfer-Encoding: chunked', 'Content-Length: 3'], ['Transfer-Encoding: chunked\r\n Content-Length: 3'])
    .map((ls) => framing(ls, `0\r\n\r\n${SMUGGLED}`, ambiguous, 'framing header in a broken field line')) },
  // a coding the gateway does not implement: 501 (RFC 9112 §6.1); chunked last still frames it (§6.3 (4)), so what
  // follows is framed too (the gateway closes after its 501: then nothing behind may be served, see the check)
  { weight: 1, arbitrary: chunked.map((b) => framing(['Transfer-Encoding: gzip, chunked'], b, refused, 'unsupported transfer coding')) },
  // over the /upload route's maxBodyBytes (100): 413 when the target is surely under /upload
  { weight: 1, arbitrary: fc.integer({ min: 101, max: 160 }).map((n) => framing([`Content-Length: ${n}`], 'u'.repeat(n), [], undefined, { big: true })) },
  { weight: 1, arbitrary: fc.integer({ min: 101, max: 160 }).map((n) => framing(['Transfer-Encoding: chunked'], `${hex(n, false)}\r\n${'u'.repeat(n)}\r\n0\r\n\r\n`, [], undefined, { big: true })) },
)

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  method,
  target,
  version,
  host,
  extras: fc.array(extraHeader, { maxLength: 2 }),
  framing: framingArb,
  connection,
  framingFirst: fc.boolean(),
}).map(({ method, target, version, host, extras, framing, connection, framingFirst }) => {
  const flags = new Set<Flag>()
  const notes: string[] = []
  const add = (fs: readonly Flag[], note?: string): void => {
    for (const f of fs) flags.add(f)
    if (note !== undefined && fs.length > 0) notes.push(note)
  }
  add(method.flags, method.note)
  add(target.flags, target.note)
  add(version.flags, version.note)
  add(host.flags, host.note)
  for (const e of extras) add(e.flags, e.note)
  add(framing.flags, framing.note)
  if (host.noHost === true && version.minor === 1) add(refused, 'no Host on HTTP/1.1')
  // RFC 9112 §3.2: a 400 for a Host that is not an authority, whatever the target's form (the gateway checks it
  // for origin-form only: a known bug, unless the request is refused for another reason anyway)
  const hostKnown = host.badValue === true && target.absolute === true && !flags.has('mustNotReach') ? KNOWN_HOST_ABSOLUTE : undefined
  if (host.badValue === true) add(refused, 'bad Host value')
  // faulty framing on HTTP/1.0 (RFC 9112 §6.1)
  if (framing.te && version.minor === 0) add(broken, 'Transfer-Encoding on HTTP/1.0')
  if (framing.big === true && target.upload === true) add(refused, 'body over the route limit')
  const tokens = connection.flatMap((l) => l.slice(l.indexOf(':') + 1).split(',').map((t) => t.trim().toLowerCase()))
  if (tokens.includes('close')) add(['closes'], 'Connection: close')
  // an upgrade the gateway declines (any but WebSocket): Node's parser drops what is pipelined behind it, so the
  // answer closes the connection (src/app.ts)
  if (tokens.includes('upgrade') && extras.some((e) => e.lines.some((l) => /^upgrade:/i.test(l)))) add(['closes'], 'an upgrade declined')
  // Node's parser also honours the legacy Proxy-Connection: keep-alive on HTTP/1.0, and the answer then says
  // Connection: keep-alive (the client is told): no promise that such a connection closes
  const proxyKeepAlive = extras.some((e) => e.lines.some((l) => /^proxy-connection:\s*keep-alive/i.test(l)))
  if (version.minor === 0 && !tokens.includes('keep-alive') && !proxyKeepAlive) add(['closes'], 'HTTP/1.0 without keep-alive')
  // what must not be forwarded: hop-by-hop fields, fields Connection names (those the gateway sets itself aside),
  // names with '_' (server.dropUnderscoreHeaders)
  const sent = [...host.lines, ...extras.flatMap((e) => e.lines)].map((l) => l.slice(0, Math.max(0, l.indexOf(':'))).toLowerCase())
  const mustDrop = [...new Set([...sent.filter((n) => n.includes('_') || HOP_BY_HOP.has(n)), ...tokens.filter((n) => !GATEWAY_SETS.has(n) && n !== 'close')])]
  const head = [`${SEQ_HEADER}: ${SEQ_PLACEHOLDER}`, ...host.lines, ...(framingFirst ? [...framing.lines, ...extras.flatMap((e) => e.lines)] : [...extras.flatMap((e) => e.lines), ...framing.lines]), ...connection]
  const bytes = `${method.text} ${target.text}${version.text}\r\n${head.map((l) => `${l}\r\n`).join('')}\r\n${framing.body}`
  return {
    bytes,
    safe: SAFE_METHODS.has(method.text),
    mustDrop,
    known: version.known ?? hostKnown ?? (framing.te && version.minor === 0 && target.long === true ? KNOWN_TE10_KEPT : undefined) ??
      (version.otherMajor === true && tokens.includes('keep-alive') ? KNOWN_505_KEPT : undefined) ??
      (version.minor === 0 && tokens.includes('keep-alive') && tokens.includes('close') ? KNOWN_CLOSE_IGNORED : undefined),
    notes,
    mustNotReach: flags.has('mustNotReach'),
    poison: flags.has('poison'),
    ambiguous: flags.has('ambiguous'),
    closes: flags.has('closes'),
    incomplete: flags.has('incomplete'),
  }
})

/** One case: one request, or two or three pipelined in one write, each tagged with its index. */
export const fuzzCase: fc.Arbitrary<FuzzRequest[]> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(request) },
  { weight: 3, arbitrary: fc.tuple(request, request) },
  { weight: 1, arbitrary: fc.tuple(request, request, request) },
).map((rs) => rs.map((r, i) => ({ ...r, bytes: r.bytes.replace(SEQ_PLACEHOLDER, String(i)) })))
