// The hostile-request corpus: exact bytes, the RFC section each case enforces, and what Switchyard must do.
// Shared by test/reliability/hostile-requests.test.ts and scripts/corpus-peers.ts (the same bytes against
// HAProxy and nginx). Routes behind every proxy under test: /payment → upstream 'payment', /upload → 'other'
// (body limit 100 bytes), / → 'other'.

export type UpstreamName = 'payment' | 'other'

export interface Reached {
  upstream: UpstreamName
  /** The request target the upstream's parser read. */
  url: string
}

export interface HostileCase {
  group: 'framing' | 'fields' | 'request-line' | 'host' | 'target' | 'limits'
  name: string
  /** The rule enforced: RFC 9110/9112 section (RFC 3986 where the URI syntax decides). */
  rfc: string
  bytes: string
  expect: {
    /** Status of the first response; 0 = the connection is closed without an answer. */
    status: number
    /** The gateway's error code, when it answers itself in its JSON format. */
    error?: string
    /** The gateway must close the connection (framing ambiguous, or nothing more can be read safely). */
    closes?: boolean
    /** Every request the upstreams parsed, in order; [] when nothing may reach them. */
    reaches: readonly Reached[]
  }
  /** The status the RFC prefers where Switchyard cannot answer it yet (tested as a todo). */
  rfcStatus?: number
  /** Why Switchyard's answer differs from the RFC's preferred one, or what remains to do. */
  note?: string
}

export const HOST = 'gw.example'
const h = `Host: ${HOST}\r\n`
const smuggled = `GET /smuggled HTTP/1.1\r\n${h}\r\n`
const none: readonly Reached[] = []
const to = (upstream: UpstreamName, url: string): Reached[] => [{ upstream, url }]

/** `POST /x` with these header lines (CRLF added) and this body. */
const post = (lines: readonly string[], body: string, version = '1.1'): string =>
  `POST /x HTTP/${version}\r\n${h}${lines.map((l) => `${l}\r\n`).join('')}\r\n${body}`
const get = (target: string, extra = '', version = '1.1'): string => `GET ${target} HTTP/${version}\r\n${h}${extra}\r\n`
const bad = (status: number, reaches: readonly Reached[] = none): HostileCase['expect'] => ({ status, closes: true, reaches })
const refused = (error: string): HostileCase['expect'] => ({ status: 400, error, reaches: none })
// refused by the front half as malformed (a peer could read it differently): the answer closes the connection too
const malformed = (error: string): HostileCase['expect'] => ({ status: 400, error, closes: true, reaches: none })

const framing: HostileCase[] = [
  { group: 'framing', name: 'Content-Length then Transfer-Encoding, smuggled request after', rfc: 'RFC 9112 §6.1, §6.3 (3)', bytes: post(['Content-Length: 5', 'Transfer-Encoding: chunked'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding then Content-Length, smuggled request after', rfc: 'RFC 9112 §6.1, §6.3 (3)', bytes: post(['Transfer-Encoding: chunked', 'Content-Length: 40'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding with a tab before the value, and Content-Length', rfc: 'RFC 9112 §6.1, §6.3 (3)', bytes: post(['Transfer-Encoding:\tchunked', 'Content-Length: 3'], '0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding with a space before the colon, and Content-Length', rfc: 'RFC 9112 §5.1', bytes: post(['Transfer-Encoding : chunked', 'Content-Length: 3'], '0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding line starting with a space (obs-fold of the previous line)', rfc: 'RFC 9112 §5.2, §2.2', bytes: post([' Transfer-Encoding: chunked', 'Content-Length: 3'], '0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding value with a vertical tab', rfc: 'RFC 9112 §6.1, RFC 9110 §5.5', bytes: post(['Transfer-Encoding: \x0bchunked'], '0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: "Transfer-Encoding 'xchunked' with Content-Length", rfc: 'RFC 9112 §6.3 (4)', bytes: post(['Transfer-Encoding: xchunked', 'Content-Length: 5'], '0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: "Transfer-Encoding 'chunked, chunked'", rfc: 'RFC 9112 §6.1 (chunked at most once)', bytes: post(['Transfer-Encoding: chunked, chunked'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding chunked on two lines', rfc: 'RFC 9112 §6.1 (chunked at most once)', bytes: post(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: "chunked not the last coding ('chunked, gzip')", rfc: 'RFC 9112 §6.3 (4)', bytes: post(['Transfer-Encoding: chunked, gzip'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: "a coding without chunked ('gzip')", rfc: 'RFC 9112 §6.3 (4)', bytes: post(['Transfer-Encoding: gzip'], `0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: "an unknown coding before chunked ('gzip, chunked')", rfc: 'RFC 9112 §6.1 (501 for a coding not understood)', bytes: post(['Transfer-Encoding: gzip, chunked'], '0\r\n\r\n'), expect: { ...bad(501), error: 'unsupported_transfer_coding' } },
  { group: 'framing', name: "codings on two Transfer-Encoding lines ('gzip', then 'chunked')", rfc: 'RFC 9110 §5.3 (field lines are one list), RFC 9112 §6.1 (501)', bytes: post(['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'], '0\r\n\r\n'), expect: { ...bad(501), error: 'unsupported_transfer_coding' } },
  { group: 'framing', name: "Transfer-Encoding 'identity' with Content-Length", rfc: 'RFC 9112 §6.3 (4), §7 (identity is no coding)', bytes: post(['Transfer-Encoding: identity', 'Content-Length: 5'], 'hello'), expect: bad(400) },
  { group: 'framing', name: 'Transfer-Encoding on HTTP/1.0', rfc: 'RFC 9112 §6.1 (faulty framing, close)', bytes: post(['Transfer-Encoding: chunked'], '0\r\n\r\n', '1.0'), expect: { ...bad(400), error: 'bad_request' } },
  { group: 'framing', name: 'Transfer-Encoding on HTTP/1.0 keep-alive, smuggled request after', rfc: 'RFC 9112 §6.1 (faulty framing, close)', bytes: post(['Connection: keep-alive', 'Transfer-Encoding: chunked', 'Content-Length: 5'], `0\r\n\r\n${smuggled}`, '1.0'), expect: bad(400) },
  { group: 'framing', name: 'Content-Length twice, same value', rfc: 'RFC 9112 §6.3 (5) (may be accepted; refusing is stricter)', bytes: post(['Content-Length: 5', 'Content-Length: 5'], 'hello'), expect: bad(400) },
  { group: 'framing', name: "Content-Length '5, 6'", rfc: 'RFC 9112 §6.3 (5)', bytes: post(['Content-Length: 5, 6'], 'hello!'), expect: bad(400) },
  { group: 'framing', name: "Content-Length '5, 5'", rfc: 'RFC 9112 §6.3 (5), RFC 9110 §8.6', bytes: post(['Content-Length: 5, 5'], 'hello'), expect: bad(400) },
  { group: 'framing', name: 'Content-Length on two lines, differing', rfc: 'RFC 9112 §6.3 (5)', bytes: post(['Content-Length: 5', 'Content-Length: 6'], 'hello!'), expect: bad(400) },
  { group: 'framing', name: 'Content-Length negative', rfc: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post(['Content-Length: -1'], ''), expect: bad(400) },
  { group: 'framing', name: "Content-Length with a sign ('+5')", rfc: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post(['Content-Length: +5'], 'hello'), expect: bad(400) },
  { group: 'framing', name: "Content-Length in hex ('0x5')", rfc: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post(['Content-Length: 0x5'], 'hello'), expect: bad(400) },
  { group: 'framing', name: "Content-Length with an inner space ('1 0')", rfc: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post(['Content-Length: 1 0'], 'helloworld'), expect: bad(400) },
  { group: 'framing', name: 'Content-Length beyond 2^64', rfc: 'RFC 9110 §8.6 (overflow is an error)', bytes: post(['Content-Length: 99999999999999999999999'], ''), expect: bad(400) },
  { group: 'framing', name: 'chunk size not hex', rfc: 'RFC 9112 §7.1', bytes: post(['Transfer-Encoding: chunked'], 'zz\r\nhello\r\n0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'chunk size overflowing 64 bits', rfc: 'RFC 9112 §7.1 (overflow is an error)', bytes: post(['Transfer-Encoding: chunked'], 'FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'chunk data longer than its size, smuggled request after', rfc: 'RFC 9112 §7.1', bytes: post(['Transfer-Encoding: chunked'], `5\r\nhelloXX0\r\n\r\n${smuggled}`), expect: bad(400) },
  { group: 'framing', name: 'NUL in a chunk extension', rfc: 'RFC 9112 §7.1.1', bytes: post(['Transfer-Encoding: chunked'], '5;\x00\r\nhello\r\n0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'bare LF after a chunk size', rfc: 'RFC 9112 §7.1, §2.2', bytes: post(['Transfer-Encoding: chunked'], '5\nhello\r\n0\r\n\r\n'), expect: bad(400) },
  { group: 'framing', name: 'a request hidden in a Content-Length body is body, not a request', rfc: 'RFC 9112 §6.2', bytes: post([`Content-Length: ${smuggled.length}`], smuggled), expect: { status: 200, reaches: to('other', '/x') } },
  { group: 'framing', name: "the chunked coding spelt 'Chunked': coding names are case-insensitive", rfc: 'RFC 9112 §7', bytes: post(['Transfer-Encoding: Chunked'], `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`), expect: { status: 200, reaches: to('other', '/x') } },
  { group: 'framing', name: "an empty list element before chunked (', chunked')", rfc: 'RFC 9110 §5.6.1.2 (empty elements may be ignored), RFC 9112 §6.1', bytes: post(['Transfer-Encoding: , chunked'], `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`), expect: { ...bad(501), error: 'unsupported_transfer_coding' }, note: 'refused as nginx refuses it (HAProxy 422): the list could be read as plain chunked, but a framing field written oddly is where hops disagree' },
  { group: 'framing', name: 'a request hidden in a chunked body is body, not a request', rfc: 'RFC 9112 §7.1', bytes: post(['Transfer-Encoding: chunked'], `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`), expect: { status: 200, reaches: to('other', '/x') } },
  { group: 'framing', name: 'two pipelined requests are two requests, in order', rfc: 'RFC 9112 §9.3.2', bytes: post(['Content-Length: 2'], 'hi') + get('/payment/second'), expect: { status: 200, reaches: [{ upstream: 'other', url: '/x' }, { upstream: 'payment', url: '/payment/second' }] } },
]

const fields: HostileCase[] = [
  { group: 'fields', name: 'obs-fold (a value continued on the next line)', rfc: 'RFC 9112 §5.2', bytes: get('/', 'X-A: 1\r\n 2\r\n'), expect: bad(400) },
  { group: 'fields', name: 'bare CR inside a value', rfc: 'RFC 9112 §2.2', bytes: get('/', 'X-A: 1\r2\r\n'), expect: bad(400) },
  { group: 'fields', name: 'CR inside a value (a header injected)', rfc: 'RFC 9110 §5.5, RFC 9112 §2.2', bytes: get('/', 'X-A: a\rTransfer-Encoding: chunked\r\n'), expect: bad(400) },
  { group: 'fields', name: 'bare LF inside the header block', rfc: 'RFC 9112 §2.2 (a recipient may reject)', bytes: get('/', 'X-A: a\nTransfer-Encoding: chunked\r\n'), expect: bad(400) },
  { group: 'fields', name: 'NUL inside a value', rfc: 'RFC 9110 §5.5', bytes: get('/', 'X-A: 1\x002\r\n'), expect: bad(400) },
  { group: 'fields', name: 'DEL inside a value', rfc: 'RFC 9110 §5.5 (field-vchar)', bytes: get('/', 'X-A: 1\x7f2\r\n'), expect: bad(400) },
  { group: 'fields', name: 'space inside a field name', rfc: 'RFC 9110 §5.1 (token)', bytes: get('/', 'X A: 1\r\n'), expect: bad(400) },
  { group: 'fields', name: "'(' inside a field name", rfc: 'RFC 9110 §5.1 (token)', bytes: get('/', 'X(A): 1\r\n'), expect: bad(400) },
  { group: 'fields', name: 'empty field name', rfc: 'RFC 9110 §5.1 (token)', bytes: get('/', ': v\r\n'), expect: bad(400) },
  { group: 'fields', name: 'a field line without a colon', rfc: 'RFC 9112 §5', bytes: get('/', 'nocolon\r\n'), expect: bad(400) },
  { group: 'fields', name: 'space before the colon', rfc: 'RFC 9112 §5.1', bytes: get('/', 'X-A : 1\r\n'), expect: bad(400) },
  { group: 'fields', name: 'bare LF line endings throughout', rfc: 'RFC 9112 §2.2 (a recipient may reject)', bytes: `GET / HTTP/1.1\nHost: ${HOST}\n\n`, expect: bad(400) },
]

const requestLine: HostileCase[] = [
  { group: 'request-line', name: 'DEL in the request target', rfc: 'RFC 9112 §3.2, RFC 3986 §2', bytes: get('/payment/a\x7f'), expect: bad(400) },
  { group: 'request-line', name: 'raw non-ASCII bytes in the request target', rfc: 'RFC 9112 §3.2, RFC 3986 §2', bytes: get('/payment/caf\xc3\xa9'), expect: bad(400) },
  { group: 'request-line', name: 'tab in the request target', rfc: 'RFC 9112 §3', bytes: get('/payment/a\tb'), expect: bad(400) },
  { group: 'request-line', name: "lower-case 'http/1.1'", rfc: 'RFC 9112 §2.3 (HTTP-name is case-sensitive)', bytes: get('/', '', '1.1').replace('HTTP/1.1', 'http/1.1'), expect: bad(400) },
  { group: 'request-line', name: "'HTTP/2.0' in an HTTP/1 request line", rfc: 'RFC 9112 §2.3 (505 preferred)', bytes: get('/', '', '2.0'), expect: { status: 505, error: 'http_version_not_supported', closes: true, reaches: none } },
  { group: 'request-line', name: "'HTTP/0.9' in a request line with headers, which Node's parser reads", rfc: 'RFC 9112 §2.3 (505 preferred)', bytes: get('/', '', '0.9'), expect: { status: 505, error: 'http_version_not_supported', closes: true, reaches: none } },
  { group: 'request-line', name: 'a method that is not a token', rfc: 'RFC 9112 §3.1, RFC 9110 §9.1', bytes: `G@T / HTTP/1.1\r\n${h}\r\n`, expect: bad(400) },
  { group: 'request-line', name: "an RTSP request line ('DESCRIBE … RTSP/1.0'), which Node's parser reads", rfc: 'RFC 9110 §9.1 (501 for a method not implemented), RFC 9112 §2.3', bytes: `DESCRIBE /payment RTSP/1.0\r\n${h}\r\n`, expect: { status: 501, error: 'method_not_implemented', closes: true, reaches: none } },
  { group: 'request-line', name: "HTTP/1.0 with 'Connection: keep-alive, close': close wins, nothing behind it is served", rfc: 'RFC 9112 §9.6', bytes: get('/payment/first', 'Connection: keep-alive, close\r\n', '1.0') + get('/payment/second'), expect: { status: 200, closes: true, reaches: to('payment', '/payment/first') } },
  { group: 'request-line', name: 'CONNECT (authority-form): no tunnels through the gateway', rfc: 'RFC 9112 §3.2.3, RFC 9110 §9.3.6', bytes: `CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n`, expect: { status: 501, error: 'method_not_implemented', closes: true, reaches: none }, note: 'the gateway opens no tunnels: 501, as for other methods it does not implement (HAProxy 502, nginx 400)' },
]

const host: HostileCase[] = [
  { group: 'host', name: 'no Host on HTTP/1.1', rfc: 'RFC 9112 §3.2', bytes: 'GET / HTTP/1.1\r\n\r\n', expect: malformed('bad_request') },
  { group: 'host', name: 'two Host lines', rfc: 'RFC 9112 §3.2', bytes: `GET /payment HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: 'two Host lines with the same value', rfc: 'RFC 9112 §3.2', bytes: `GET /payment HTTP/1.1\r\n${h}${h}\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: 'two Host lines on HTTP/1.0', rfc: 'RFC 9112 §3.2', bytes: `GET /payment HTTP/1.0\r\n${h}${h}\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: "Host carrying a path ('a.example/../x')", rfc: 'RFC 9112 §3.2, RFC 9110 §7.2', bytes: `GET /payment HTTP/1.1\r\nHost: a.example/../x\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: "Host carrying userinfo ('user@a.example')", rfc: 'RFC 9110 §7.2, §4.2.4', bytes: `GET /payment HTTP/1.1\r\nHost: user@a.example\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: "Host with a space ('a b')", rfc: 'RFC 9110 §7.2', bytes: `GET /payment HTTP/1.1\r\nHost: a b\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: "Host as a list ('a.example, b.example')", rfc: 'RFC 9110 §7.2', bytes: `GET /payment HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: "Host with a port that is not a number ('a.example:8x')", rfc: 'RFC 9110 §7.2, RFC 3986 §3.2.3', bytes: `GET /payment HTTP/1.1\r\nHost: a.example:8x\r\n\r\n`, expect: malformed('bad_request') },
  { group: 'host', name: 'HTTP/1.0 without Host is served', rfc: 'RFC 9112 §3.2 (Host is required of HTTP/1.1)', bytes: 'GET /payment HTTP/1.0\r\n\r\n', expect: { status: 200, closes: true, reaches: to('payment', '/payment') } },
  { group: 'host', name: 'an empty Host', rfc: 'RFC 9110 §4.2.1 (an http URI has a host), §7.2', bytes: 'GET /payment HTTP/1.1\r\nHost:\r\n\r\n', expect: malformed('bad_request') },
  { group: 'host', name: "Host with a port and no host (':8080')", rfc: 'RFC 9110 §4.2.1, §7.2', bytes: 'GET /payment HTTP/1.1\r\nHost: :8080\r\n\r\n', expect: malformed('bad_request') },
  { group: 'host', name: "an IPv6 literal Host ('[::1]:8080') is served", rfc: 'RFC 9110 §7.2, RFC 3986 §3.2.2', bytes: 'GET /payment HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', expect: { status: 200, reaches: to('payment', '/payment') } },
]

const target: HostileCase[] = [
  { group: 'target', name: "'/paymentX' is not under '/payment'", rfc: 'RFC 3986 §3.3 (segments)', bytes: get('/paymentX'), expect: { status: 200, reaches: to('other', '/paymentX') } },
  { group: 'target', name: "'/payment/../admin' is routed and sent as '/admin'", rfc: 'RFC 3986 §5.2.4, RFC 9110 §4.2.3', bytes: get('/payment/../admin'), expect: { status: 200, reaches: to('other', '/admin') } },
  { group: 'target', name: "'/payment/%2e%2e/admin' (encoded dot segment)", rfc: 'RFC 3986 §2.3, §5.2.4', bytes: get('/payment/%2e%2e/admin'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/.%2E/admin' (half-encoded dot segment)", rfc: 'RFC 3986 §2.3, §5.2.4', bytes: get('/payment/.%2E/admin'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment%2F..%2Fadmin' (encoded slash)", rfc: 'RFC 3986 §2.2 (reserved delimiter)', bytes: get('/payment%2F..%2Fadmin'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment%5C..%5Cadmin' (encoded backslash)", rfc: 'RFC 3986 §2.2', bytes: get('/payment%5C..%5Cadmin'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment\\..\\admin' (raw backslash)", rfc: 'RFC 3986 §3.3 (not a path character)', bytes: get('/payment\\..\\admin'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/%00' (encoded NUL)", rfc: 'RFC 9110 §4.2.3, §5.5', bytes: get('/payment/%00'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/x%00.json' (NUL truncation)", rfc: 'RFC 9110 §4.2.3, §5.5', bytes: get('/payment/x%00.json'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/%0d%0aX-Injected:%20y' (encoded CR LF)", rfc: 'RFC 9110 §5.5', bytes: get('/payment/%0d%0aX-Injected:%20y'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/a%09' (encoded tab)", rfc: 'RFC 9110 §4.2.3', bytes: get('/payment/a%09'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/a%1F' (encoded control byte)", rfc: 'RFC 9110 §4.2.3', bytes: get('/payment/a%1F'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/a%7f' (encoded DEL)", rfc: 'RFC 9110 §4.2.3', bytes: get('/payment/a%7f'), expect: refused('bad_path') },
  { group: 'target', name: "'/payment/%zz' (broken percent-encoding)", rfc: 'RFC 3986 §2.1', bytes: get('/payment/%zz'), expect: refused('bad_path') },
  { group: 'target', name: "'//payment' is routed and sent as '/payment'", rfc: 'RFC 3986 §3.3 (empty segments merged)', bytes: get('//payment'), expect: { status: 200, reaches: to('payment', '/payment') } },
  { group: 'target', name: "'/payment;x' is another segment, sent as routed", rfc: 'RFC 3986 §3.3', bytes: get('/payment;x'), expect: { status: 200, reaches: to('other', '/payment;x') } },
  { group: 'target', name: "'/payment/..;/admin' (a dot segment to servlet containers)", rfc: 'RFC 3986 §5.2.4', bytes: get('/payment/..;/admin'), expect: refused('bad_path') },
  { group: 'target', name: "'/%70ayment' (encoded unreserved byte) is routed and sent as '/payment'", rfc: 'RFC 3986 §6.2.2.2', bytes: get('/%70ayment'), expect: { status: 200, reaches: to('payment', '/payment') }, note: 'an encoded letter, digit or -._~ is the character itself: decoded before routing, so the path routed is the path sent' },
  { group: 'target', name: "'/%70aymentX' is another name, decoded and not under /payment", rfc: 'RFC 3986 §6.2.2.2', bytes: get('/%70aymentX/a%2Db'), expect: { status: 200, reaches: to('other', '/paymentX/a-b') } },
  { group: 'target', name: "absolute-form 'http://other.example/payment' is routed by its path", rfc: 'RFC 9112 §3.2.2', bytes: get('http://other.example/payment'), expect: { status: 200, reaches: to('payment', '/payment') } },
  { group: 'target', name: 'absolute-form with dot segments', rfc: 'RFC 9112 §3.2.2, RFC 3986 §5.2.4', bytes: get('http://other.example/payment/../admin'), expect: { status: 200, reaches: to('other', '/admin') } },
  { group: 'target', name: 'absolute-form with userinfo', rfc: 'RFC 9110 §4.2.4', bytes: get('http://user@evil.example/payment'), expect: refused('bad_path') },
  { group: 'target', name: 'absolute-form beside an invalid Host line', rfc: 'RFC 9112 §3.2 (a Host with an invalid value: 400, whatever the target)', bytes: 'GET http://gw.example/payment HTTP/1.1\r\nHost: a b\r\n\r\n', expect: malformed('bad_request') },
  { group: 'target', name: 'absolute-form to an internal address goes to the pool, not the address', rfc: 'RFC 9112 §3.2.2', bytes: get('http://10.0.0.1:22/'), expect: { status: 200, reaches: to('other', '/') } },
  { group: 'target', name: "'//10.0.0.1/' is a path, never a host", rfc: 'RFC 9112 §3.2.1, RFC 3986 §3.3', bytes: get('//10.0.0.1/'), expect: { status: 200, reaches: to('other', '/10.0.0.1/') } },
  { group: 'target', name: "absolute-form with a non-HTTP scheme ('ftp://')", rfc: 'RFC 9112 §3.2.2', bytes: get('ftp://other.example/payment'), expect: refused('bad_path') },
  { group: 'target', name: "asterisk-form on GET ('*')", rfc: 'RFC 9112 §3.2.4 (OPTIONS only)', bytes: get('*'), expect: refused('bad_path') },
  { group: 'target', name: "asterisk-form 'OPTIONS *' (nothing to route)", rfc: 'RFC 9112 §3.2.4', bytes: `OPTIONS * HTTP/1.1\r\n${h}\r\n`, expect: refused('bad_path') },
  { group: 'target', name: "absolute-form OPTIONS with an empty path ('OPTIONS http://gw.example' means 'OPTIONS *')", rfc: 'RFC 9112 §3.2.4', bytes: `OPTIONS http://${HOST} HTTP/1.1\r\n${h}\r\n`, expect: refused('bad_path') },
  { group: 'target', name: "absolute-form OPTIONS with an empty path and a query is 'OPTIONS /?q'", rfc: 'RFC 9112 §3.2.4 (only without a query is it asterisk-form)', bytes: `OPTIONS http://${HOST}?q HTTP/1.1\r\n${h}\r\n`, expect: { status: 200, reaches: to('other', '/?q') } },
  { group: 'target', name: "absolute-form GET with an empty path is 'GET /'", rfc: 'RFC 9112 §3.2.2, RFC 3986 §6.2.3', bytes: get(`http://${HOST}`), expect: { status: 200, reaches: to('other', '/') } },
  { group: 'target', name: 'the query is sent as it came', rfc: 'RFC 9110 §4.2.3 (query is opaque)', bytes: get('/payment/a?x=/../..&y=%2f'), expect: { status: 200, reaches: to('payment', '/payment/a?x=/../..&y=%2f') } },
]

const limits: HostileCase[] = [
  { group: 'limits', name: 'request target over server.maxUrlBytes → 414', rfc: 'RFC 9112 §3, RFC 9110 §15.5.15', bytes: get(`/payment/${'a'.repeat(1100)}`), expect: { status: 414, error: 'uri_too_long', closes: true, reaches: none } },
  { group: 'limits', name: 'headers over server.maxHeaderBytes → 431', rfc: 'RFC 6585 §5, RFC 9110 §5.4', bytes: get('/', `X-Big: ${'b'.repeat(5000)}\r\n`), expect: bad(431) },
  { group: 'limits', name: 'Content-Length over the route maxBodyBytes → 413', rfc: 'RFC 9110 §15.5.14', bytes: `POST /upload HTTP/1.1\r\n${h}Content-Length: 200\r\n\r\n${'u'.repeat(200)}`, expect: { status: 413, error: 'body_too_large', closes: true, reaches: none } },
  { group: 'limits', name: 'a chunked body over the route maxBodyBytes → 413 (counted as it streams)', rfc: 'RFC 9110 §15.5.14', bytes: `POST /upload HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n${'c8\r\n' + 'u'.repeat(200) + '\r\n'}0\r\n\r\n`, expect: { status: 413, error: 'body_too_large', closes: true, reaches: none } },
]

export const HOSTILE_CASES: readonly HostileCase[] = [...framing, ...fields, ...requestLine, ...host, ...target, ...limits]
