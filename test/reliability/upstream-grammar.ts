// A grammar of upstream HTTP/1.x responses with mutations, for the upstream fuzz test (upstream-fuzz.test.ts). A
// response is generated as a spec (plain data, so fast-check shrinks it), rendered to bytes for the request method it
// answers, and judged by verdict() from how it was built (RFC 9110/9112), never from what the gateway did with it.
import fc from 'fast-check'
import { KNOWN_100_CONTINUE, KNOWN_204_LENGTH, KNOWN_ASSERTION_RESET, KNOWN_CLOSE_RESET_COMPLETE, KNOWN_OVERFLOW_RESET, KNOWN_PARSER_RESET, KNOWN_STATUS_INVALID, KNOWN_TE_HTTP10_REUSED, KNOWN_TE_OTHER } from './upstream-fuzz-known.ts'

export type Method = 'GET' | 'HEAD' | 'POST' | 'OPTIONS'

/** An interim (1xx) answer before the final one; '101-upgrade' carries Upgrade and Connection: upgrade. */
export type Interim = '100' | '101' | '101-upgrade' | '102' | '103' | '103-length'

export type Framing =
  | 'length' | 'length-short' | 'length-long'
  | 'chunked' | 'chunked-ext' | 'chunked-trailers' | 'chunked-bad-size' | 'chunked-no-last' | 'chunked-overrun'
  | 'close'
  | 'te-gzip' | 'te-gzip-chunked' | 'te-chunked-twice' | 'length-and-chunked' | 'length-twice-same' | 'length-twice-differ'

/** Breaks the head: the response is not valid HTTP/1.1 (RFC 9112 §4, §5). */
export type HeadMutation = 'obs-fold' | 'space-before-colon' | 'bare-lf' | 'nul-in-value' | 'cr-in-value' | 'status-2000' | 'status-abc' | 'status-099'
  | 'no-status-line' | 'version-1.2' | 'length-abc' | 'length-plus' | 'header-overflow' | 'no-colon'

/** A field the gateway must forward as it came (name as written, any case). */
export interface Field { name: string; value: string }

/** A hop-by-hop field (RFC 9110 §7.6.1) the gateway must drop; `named` ones are listed in Connection. */
export type HopField = 'keep-alive' | 'proxy-connection' | 'upgrade' | 'trailer' | 'te' | 'proxy-authenticate' | 'named' | 'named-request-id'
  | 'named-content-length' | 'named-transfer-encoding' | 'upstream-request-id'

export interface ResponseSpec {
  interim: readonly Interim[]
  version: '1.1' | '1.0'
  /** HTTP/1.0: `Connection: keep-alive`; HTTP/1.1: `Connection: close`. */
  connectionToken: boolean
  status: number
  /** undefined: no reason phrase and no space after the status. */
  reason: string | undefined
  fields: readonly Field[]
  hop: readonly HopField[]
  /** A field of about this many bytes (the head stays under undici's 16 KiB). */
  big: number
  framing: Framing
  /** Body bytes after the request's tag. */
  pad: number
  head: HeadMutation | undefined
  /** A body sent where there must be none (HEAD, 204, 304). */
  bodyOnBodyless: boolean
  /** Bytes after the response: garbage, or a second response nobody asked for. */
  extra: 'none' | 'garbage' | 'response'
  /** Writes split at these fractions of the response's bytes, each after a delay. */
  splits: readonly { at: number; delayMs: number }[]
  /** After the last byte: keep the connection, close it (FIN), or reset it (RST). */
  ending: 'keep' | 'fin' | 'reset'
  /** The connection ends (FIN or RST) before the head is complete, at this fraction of it. */
  early: { at: number; how: 'fin' | 'reset' } | undefined
}

/** Marks a second, unsolicited response: it must never reach any client. */
export const SPOOF = 'SPOOFED-RESPONSE'
const SECOND_RESPONSE = `HTTP/1.1 200 OK\r\nContent-Length: ${SPOOF.length}\r\n\r\n${SPOOF}`

/** 'length-short' declares this many bytes fewer than it sends (none of an empty body). */
const SHORT_BY = (length: number): number => Math.min(3, length)

export const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504])
const BIG_LIMIT = 15_000

/** A clean answer: what an upstream says to a request that has no script (and to every liveness check). */
export const CLEAN: ResponseSpec = {
  interim: [], version: '1.1', connectionToken: false, status: 200, reason: 'OK', fields: [], hop: [], big: 0, framing: 'length', pad: 3,
  head: undefined, bodyOnBodyless: false, extra: 'none', splits: [], ending: 'keep', early: undefined,
}

export interface Verdict {
  /** valid: a complete response; bad-head: not valid HTTP (502 upstream_bad_response); before-head: the connection
   * ended before a response (502 upstream_unreachable); cut-body: the head is valid, the body broken (cut);
   * empty-body-broken: the head is valid, the body broken before its first byte (the head never went out: 502,
   * upstream_bad_response for a chunk size llhttp refuses, upstream_unreachable for a connection that ended). */
  kind: 'valid' | 'bad-head' | 'before-head' | 'cut-body' | 'empty-body-broken'
  status: number
  /** The body the client must get (valid only); undefined when the answer has none (HEAD, 204, 304). */
  body: string | undefined
  /** Lower-case name → values in order, that must reach the client as they are. */
  forwarded: ReadonlyMap<string, readonly string[]>
  /** Lower-case names that must not reach the client (hop-by-hop, named by Connection, framing of a 204). */
  dropped: readonly string[]
  /** Upstream values of fields the gateway sets itself (keep-alive, transfer-encoding, x-request-id): never seen. */
  leaked: readonly { name: string; value: string }[]
  /** The upstream connection may carry another request after this response. */
  reusable: boolean
  /** A reported gateway bug this response runs into (upstream-fuzz-known.ts). */
  known: string | undefined
  notes: string[]
}

export interface Rendered {
  segments: { bytes: Buffer; delayMs: number }[]
  ending: 'keep' | 'fin' | 'reset'
  /**
   * The reset follows a complete head: it waits until the gateway has read it, since a reset makes the receiver's
   * kernel drop what is still unread, and the cut would become a failure before any response.
   */
  resetAfterHead: boolean
}

export function bodyless (method: Method, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304
}

/** The body of the answer to `tag`'s attempt `attempt`: unique, so a response that reaches the wrong client shows. */
export function bodyOf (tag: string, attempt: number, pad: number): string {
  // a negative pad: an empty body (the X-Fuzz-Echo field still names the request)
  return pad < 0 ? '' : `${tag}/a${attempt}|${'b'.repeat(pad)}`
}

/** Whether the response is complete once its bytes are written (no cut possible, whatever the ending). */
function completes (spec: ResponseSpec, method: Method): boolean {
  if (bodyless(method, spec.status)) return true
  return !['length-long', 'chunked-no-last', 'chunked-bad-size', 'chunked-overrun', 'close', 'te-gzip'].includes(spec.framing)
}

/**
 * The spec as it is played: a reset after a complete response would race the next request, so it is a FIN; a body
 * that ends only at the close gets one; bytes "after" a body that has no end are part of it, so there are none; a head
 * cut short carries no mutation (its verdict is the cut, whatever the bytes before it).
 */
export function normalise (spec: ResponseSpec, method: Method): ResponseSpec {
  const out = { ...spec }
  const complete = completes(spec, method)
  const breaks = ['chunked-bad-size', 'chunked-overrun'].includes(spec.framing) && !bodyless(method, spec.status)
  if (out.ending === 'keep' && !complete && !breaks) out.ending = 'fin'
  if (out.ending === 'reset' && complete) out.ending = 'fin'
  // a body that breaks by itself needs no close (and a reset could overtake the bytes that break it)
  if (breaks) out.ending = 'keep'
  if (!complete) out.extra = 'none'
  out.big = Math.min(spec.big, BIG_LIMIT)
  if (spec.early !== undefined) {
    // The connection ends inside a head, which must be one without defects. A defect in the bytes before the cut
    // makes undici refuse the head at once (upstream_bad_response, not retried), and whether the cut falls before
    // or after that point depends on the fraction drawn: one case would expect either answer.
    out.head = undefined
    out.interim = spec.interim.filter((i) => i !== '100' && i !== '101' && i !== '101-upgrade')
    if (HEAD_DEFECTS.has(spec.framing)) out.framing = 'length'
  }
  return out
}

/** Framings whose head fields alone make the response invalid (verdict: bad-head), but see TE_CODINGS. */
const HEAD_DEFECTS: ReadonlySet<Framing> = new Set(['te-gzip', 'te-gzip-chunked', 'te-chunked-twice', 'length-and-chunked', 'length-twice-same', 'length-twice-differ'])
/**
 * Transfer codings other than a lone chunked: a defect only where a body follows. An answer without one (to HEAD, a
 * 204 or a 304) may name the codings its GET would have had (RFC 9112 §6.1): no coded bytes to forward.
 */
const TE_CODINGS: ReadonlySet<Framing> = new Set(['te-gzip', 'te-gzip-chunked', 'te-chunked-twice'])

const HOP_LINES: Record<HopField, (tag: string) => { lines: string[]; dropped: string[]; leaked?: { name: string; value: string } }> = {
  'keep-alive': () => ({ lines: ['Keep-Alive: timeout=5, max=9'], dropped: [], leaked: { name: 'keep-alive', value: 'timeout=5, max=9' } }),
  'proxy-connection': () => ({ lines: ['Proxy-Connection: keep-alive'], dropped: ['proxy-connection'] }),
  'upgrade': () => ({ lines: ['Upgrade: h2c'], dropped: ['upgrade'] }),
  'trailer': () => ({ lines: ['Trailer: X-Trailing'], dropped: ['trailer'] }),
  'te': () => ({ lines: ['TE: trailers'], dropped: ['te'] }),
  'proxy-authenticate': () => ({ lines: ['Proxy-Authenticate: Basic realm="x"'], dropped: ['proxy-authenticate'] }),
  'named': () => ({ lines: ['Connection: X-Hop', 'X-Hop: hop-value'], dropped: ['x-hop'] }),
  'named-request-id': (tag) => ({ lines: ['Connection: X-Request-Id', `X-Request-Id: named-${tag}`], dropped: [], leaked: { name: 'x-request-id', value: `named-${tag}` } }),
  'named-content-length': () => ({ lines: ['Connection: content-length'], dropped: ['content-length'] }),
  'named-transfer-encoding': () => ({ lines: ['Connection: Transfer-Encoding'], dropped: [] }),
  'upstream-request-id': (tag) => ({ lines: [`X-Request-Id: upstream-${tag}`], dropped: [], leaked: { name: 'x-request-id', value: `upstream-${tag}` } }),
}

function framingLines (framing: Framing, length: number): string[] {
  switch (framing) {
    case 'length': return [`Content-Length: ${length}`]
    case 'length-short': return [`Content-Length: ${length - SHORT_BY(length)}`]
    case 'length-long': return [`Content-Length: ${length + 7}`]
    case 'length-twice-same': return [`Content-Length: ${length}`, `content-length: ${length}`]
    case 'length-twice-differ': return [`Content-Length: ${length}`, `Content-Length: ${length + 1}`]
    case 'length-and-chunked': return [`Content-Length: ${length}`, 'Transfer-Encoding: chunked']
    case 'close': return []
    case 'te-gzip': return ['Transfer-Encoding: gzip']
    case 'te-gzip-chunked': return ['Transfer-Encoding: gzip, chunked']
    case 'te-chunked-twice': return ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']
    default: return ['Transfer-Encoding: chunked']
  }
}

function chunkedBody (body: string, framing: Framing): string {
  const half = Math.ceil(body.length / 2)
  const parts = body.length === 0 ? [] : [body.slice(0, half), body.slice(half)].filter((p) => p.length > 0)
  const ext = framing === 'chunked-ext' ? ';a=1;b="x y"' : ''
  const size = (n: number): string => framing === 'chunked-ext' ? `00${n.toString(16).toUpperCase()}` : n.toString(16)
  const chunks = parts.map((p) => `${size(p.length)}${ext}\r\n${p}\r\n`).join('')
  switch (framing) {
    case 'chunked-trailers': return `${chunks}0\r\nX-Trailing: t1\r\nX-Other: t2\r\n\r\n`
    case 'chunked-bad-size': return `${chunks}zz\r\nmore\r\n0\r\n\r\n`
    case 'chunked-no-last': return chunks
    case 'chunked-overrun': return `${(1).toString(16)}\r\n${body}\r\n0\r\n\r\n`
    default: return `${chunks}0${ext}\r\n\r\n`
  }
}

/** The bytes after the head that carry `body` in the spec's framing. */
function payloadOf (spec: ResponseSpec, body: string): string {
  const chunked = !spec.framing.startsWith('length') && spec.framing !== 'close' && spec.framing !== 'te-gzip'
  return chunked ? chunkedBody(body, spec.framing) : body
}

function mutateHead (head: string, mutation: HeadMutation | undefined): string {
  switch (mutation) {
    case undefined: return head
    case 'obs-fold': return head.replace('\r\n', '\r\nX-Folded: a\r\n b\r\n')
    case 'space-before-colon': return head.replace('\r\n', '\r\nX-Space : 1\r\n')
    case 'bare-lf': return head.replace('\r\n', '\nX-Lf: 1\r\n')
    case 'nul-in-value': return head.replace('\r\n', '\r\nX-Nul: a\x00b\r\n')
    case 'cr-in-value': return head.replace('\r\n', '\r\nX-Cr: a\rSet-Cookie: injected=1\r\n')
    case 'no-colon': return head.replace('\r\n', '\r\nX-No-Colon\r\n')
    case 'status-2000': return head.replace(/^HTTP\/1\.[01] \d{3}/, 'HTTP/1.1 2000')
    case 'status-abc': return head.replace(/^HTTP\/1\.[01] \d{3}/, 'HTTP/1.1 abc')
    case 'status-099': return head.replace(/^HTTP\/1\.[01] \d{3}/, 'HTTP/1.1 099')
    case 'no-status-line': return head.replace(/^[^\r\n]*\r\n/, '')
    case 'version-1.2': return head.replace(/^HTTP\/1\.[01]/, 'HTTP/1.2')
    case 'length-abc': return head.replace('\r\n', '\r\nContent-Length: abc\r\n')
    case 'length-plus': return /Content-Length: \d/i.test(head) ? head.replace(/Content-Length: (\d+)/i, 'Content-Length: +$1') : head.replace('\r\n', '\r\nContent-Length: +5\r\n')
    case 'header-overflow': return head.replace('\r\n', `\r\nX-Overflow: ${'o'.repeat(17_000)}\r\n`)
  }
}

/** The bytes the upstream writes for attempt `attempt` of request `tag`, a `method` request. */
export function render (raw: ResponseSpec, method: Method, tag: string, attempt: number): Rendered {
  const spec = normalise(raw, method)
  const body = bodyOf(tag, attempt, spec.pad)
  const none = bodyless(method, spec.status)
  const interim = spec.interim.map((i) => i === '103-length' ? 'HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </a>; rel=preload\r\n\r\n'
    : i === '103' ? 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'
      : i === '101-upgrade' ? 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n'
        : `HTTP/1.1 ${i} ${i === '100' ? 'Continue' : i === '101' ? 'Switching Protocols' : 'Processing'}\r\n\r\n`).join('')
  const lines = [`HTTP/${spec.version} ${spec.status}${spec.reason === undefined ? '' : ` ${spec.reason}`}`]
  lines.push(`X-Fuzz-Echo: ${tag}`)
  for (const f of spec.fields) lines.push(`${f.name}: ${f.value}`)
  if (spec.big > 0) lines.push(`X-Big: ${'g'.repeat(spec.big)}`)
  for (const h of spec.hop) lines.push(...HOP_LINES[h](tag).lines)
  if (spec.connectionToken) lines.push(spec.version === '1.0' ? 'Connection: keep-alive' : 'Connection: close')
  // a 204 normally carries no framing at all; the mutation sends its body's length (and the body) anyway
  const framed = !(spec.status === 204 && !spec.bodyOnBodyless && ['length', 'length-short', 'length-long'].includes(spec.framing))
  const payload = payloadOf(spec, body)
  if (framed) lines.push(...framingLines(spec.framing, body.length))
  const head = mutateHead(`${lines.join('\r\n')}\r\n\r\n`, spec.head)
  const withBody = !none || spec.bodyOnBodyless
  const message = interim + head + (withBody ? payload : '')
  const extra = spec.extra === 'garbage' ? 'garbage!\r\n' : spec.extra === 'response' ? SECOND_RESPONSE : ''
  if (spec.early !== undefined) {
    // the head is cut at a fraction of its bytes (possibly before the first one, possibly after an interim answer)
    const cut = Math.floor(spec.early.at * (interim.length + head.length - 1))
    return { segments: cut === 0 ? [] : [{ bytes: Buffer.from(message.slice(0, cut), 'latin1'), delayMs: 0 }], ending: spec.early.how, resetAfterHead: false }
  }
  // writes split only within what the request asked for: bytes past the response's own end go with its last write
  const solicited = none ? interim.length + head.length : spec.framing === 'length-short' ? message.length - SHORT_BY(body.length) : message.length
  const offsets = [...new Set(spec.splits.map((s) => Math.floor(s.at * solicited)).filter((o) => o > 0 && o < solicited))].sort((a, b) => a - b)
  const delays = new Map(spec.splits.map((s) => [Math.floor(s.at * solicited), s.delayMs]))
  const segments: Rendered['segments'] = []
  let from = 0
  let delayMs = 0
  for (const at of offsets) {
    segments.push({ bytes: Buffer.from(message.slice(from, at), 'latin1'), delayMs })
    delayMs = delays.get(at) ?? 0
    from = at
  }
  // unsolicited bytes go in the same write as the response's end: later, they would race the next request
  segments.push({ bytes: Buffer.from(message.slice(from) + extra, 'latin1'), delayMs })
  return { segments, ending: spec.ending, resetAfterHead: spec.ending === 'reset' }
}

/** What a correct gateway does with this response to a `method` request, by RFC 9110/9112 and the README. */
export function verdict (raw: ResponseSpec, method: Method, tag: string, attempt: number): Verdict {
  const spec = normalise(raw, method)
  const notes: string[] = []
  const none = bodyless(method, spec.status)
  const forwarded = new Map<string, string[]>()
  forwarded.set('x-fuzz-echo', [tag])
  for (const f of spec.fields) forwarded.set(f.name.toLowerCase(), [...(forwarded.get(f.name.toLowerCase()) ?? []), f.value])
  if (spec.big > 0) forwarded.set('x-big', ['g'.repeat(spec.big)])
  const dropped: string[] = []
  const leaked: { name: string; value: string }[] = []
  for (const h of spec.hop) {
    const d = HOP_LINES[h](tag)
    dropped.push(...d.dropped)
    if (d.leaked !== undefined) leaked.push(d.leaked)
  }
  let known: string | undefined
  const result = (kind: Verdict['kind'], reusable: boolean, body?: string): Verdict =>
    ({ kind, status: spec.status, body, forwarded, dropped, leaked, reusable, known, notes })
  if (spec.early !== undefined) {
    notes.push(`the connection ends (${spec.early.how}) before the head is complete`)
    return result('before-head', false)
  }
  // the interim answers come first: the first 100 or 101 decides, whatever follows it
  const odd = spec.interim.find((i) => i === '100' || i === '101' || i === '101-upgrade')
  // RFC 9110 §15.2.2: 101 only answers a request that asked to upgrade, with its Upgrade fields (undici's 'bad
  // upgrade') or without them (an assertion in undici) alike
  if (odd === '101' || odd === '101-upgrade') {
    notes.push('101 to a request without Upgrade')
    known = KNOWN_ASSERTION_RESET
    return result('bad-head', false)
  }
  if (odd === '100') {
    // RFC 9110 §15.2: a client must parse 1xx answers it did not expect, and go on to the final one
    notes.push('an unexpected 100 Continue')
    known = KNOWN_100_CONTINUE
  }
  if (spec.head !== undefined) {
    notes.push(`head: ${spec.head}`)
    known ??= spec.head === 'header-overflow' ? KNOWN_OVERFLOW_RESET : spec.head === 'status-099' ? KNOWN_ASSERTION_RESET : KNOWN_PARSER_RESET
    return result('bad-head', false)
  }
  // RFC 9110 §15: a status outside 100..599 is invalid (a client treats it as a 5xx; a proxy must not pass it on)
  if (spec.status > 599) {
    notes.push(`status ${spec.status}`)
    known ??= KNOWN_STATUS_INVALID
    return result('bad-head', false)
  }
  if (HEAD_DEFECTS.has(spec.framing) && !(none && TE_CODINGS.has(spec.framing))) {
    notes.push(`framing ${spec.framing}`)
    // RFC 9112 §6.1, §7: a coding the gateway cannot undo must not be forwarded without its name (nginx: 502).
    // The others (RFC 9112 §6.3 (3), RFC 9110 §8.6) are refused, as undici does (either is allowed), never reused.
    if (spec.framing.startsWith('te-')) known ??= KNOWN_TE_OTHER
    return result('bad-head', false)
  }
  // HTTP/1.0 keeps a connection only with keep-alive, and a body only with a length (RFC 9112 §9.3, §6.3)
  let reusable = spec.version === '1.1' ? !spec.connectionToken : spec.connectionToken && (none || spec.framing.startsWith('length'))
  // llhttp reads Proxy-Connection as Connection: an HTTP/1.0 keep-alive there (framed by a length) may persist too
  if (spec.version === '1.0' && !spec.connectionToken && spec.hop.includes('proxy-connection') && (none || spec.framing.startsWith('length'))) reusable = true
  if (!reusable) notes.push(spec.version === '1.1' ? 'Connection: close' : spec.connectionToken ? 'HTTP/1.0 keep-alive without a length' : 'HTTP/1.0 without keep-alive')
  if (spec.extra !== 'none') notes.push(`bytes after the response (${spec.extra})`)
  if (spec.ending !== 'keep') notes.push(`the upstream closed (${spec.ending})`)
  if (spec.extra !== 'none' || spec.ending !== 'keep') reusable = false
  if (spec.version === '1.0' && CHUNKED.has(spec.framing)) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing: close the connection after it
    notes.push('Transfer-Encoding on HTTP/1.0')
    known ??= KNOWN_TE_HTTP10_REUSED
    reusable = false
  }
  if (spec.status === 204) {
    // RFC 9110 §8.6: no Content-Length in a 204 (nginx drops it)
    dropped.push('content-length', 'transfer-encoding')
    if (spec.framing.startsWith('length') && spec.bodyOnBodyless) known ??= KNOWN_204_LENGTH
  }
  if (none) {
    if (spec.bodyOnBodyless && payloadOf(spec, bodyOf(tag, attempt, spec.pad)).length > 0) {
      notes.push('a body where there is none')
      reusable = false
    }
    return result('valid', reusable)
  }
  const body = bodyOf(tag, attempt, spec.pad)
  switch (spec.framing) {
    case 'length-short':
      if (body.length === 0) break
      notes.push('bytes after the Content-Length')
      return result('valid', false, body.slice(0, body.length - SHORT_BY(body.length)))
    case 'length-long': case 'chunked-bad-size': case 'chunked-no-last': case 'chunked-overrun':
      notes.push(`framing ${spec.framing}`)
      // an empty body breaks before its first byte (an overrun's chunk of 1 always carries one)
      if (body.length === 0 && spec.framing !== 'chunked-overrun') return result('empty-body-broken', false)
      return result('cut-body', false)
    case 'close':
      notes.push('a close-delimited body')
      if (spec.ending === 'fin') return result('valid', false, body)
      // RFC 9112 §8: a reset is no clean close; what came before it may be cut short
      notes.push('a close-delimited body reset')
      // an unexpected 100 before it decides first: undici refuses the answer before it reads this body
      known ??= KNOWN_CLOSE_RESET_COMPLETE
      return result(body.length === 0 ? 'empty-body-broken' : 'cut-body', false)
  }
  return result('valid', reusable, body)
}

const CHUNKED: ReadonlySet<Framing> = new Set(['chunked', 'chunked-ext', 'chunked-trailers', 'chunked-bad-size', 'chunked-no-last', 'chunked-overrun'])

// ---- arbitraries ----

const word = fc.stringMatching(/^[a-z0-9]{1,6}$/)
const fieldValue = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9=;,/ ._-]{1,16}$/).map((v) => v.trim()).filter((v) => v.length > 0) },
  { weight: 1, arbitrary: fc.constant('') },
  // obs-text and an inner tab (RFC 9110 §5.5): bytes the gateway must pass through as they are
  { weight: 2, arbitrary: fc.constantFrom('caf\xc3\xa9', '\x80\xff', 'a\tb', 'x \xe9 y', '"quoted, string"') },
)
const caseVariant = (name: string): fc.Arbitrary<string> => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase())
const field: fc.Arbitrary<Field[]> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(word, fieldValue).map(([n, value]) => [{ name: `X-E-${n}`, value }]) },
  { weight: 2, arbitrary: fc.tuple(fc.array(word, { minLength: 2, maxLength: 3 })).map(([vs]) => vs.map((v, i) => ({ name: 'Set-Cookie', value: `c${i}=${v}; Path=/` }))) },
  { weight: 1, arbitrary: fc.tuple(caseVariant('X-Dup'), fieldValue, fieldValue).map(([name, a, b]) => [{ name, value: a }, { name: 'x-dup', value: b }]) },
  { weight: 1, arbitrary: fc.constantFrom('Cache-Control: no-store', 'Content-Type: text/plain; charset=latin1', 'Vary: Accept-Encoding', 'ETag: "e1"', 'Retry-After: 0')
    .map((l) => [{ name: l.split(': ')[0]!, value: l.split(': ')[1]! }]) },
)

const hop = fc.constantFrom<HopField>('keep-alive', 'proxy-connection', 'upgrade', 'trailer', 'te', 'proxy-authenticate', 'named', 'named-request-id',
  'named-content-length', 'named-transfer-encoding', 'upstream-request-id')

const status = fc.oneof(
  { weight: 12, arbitrary: fc.constant(200) },
  { weight: 6, arbitrary: fc.constantFrom(201, 203, 206, 299, 400, 404, 418, 500, 599) },
  { weight: 3, arbitrary: fc.constantFrom(204, 304) },
  { weight: 3, arbitrary: fc.constantFrom(502, 503, 504) },
  { weight: 1, arbitrary: fc.constantFrom(600, 799, 999) },
)
const reason = fc.oneof(
  { weight: 6, arbitrary: fc.constant('OK') },
  { weight: 2, arbitrary: fc.constantFrom<string | undefined>(undefined, '', 'Whatever You Like', 'caf\xe9 \x80', 'a\tb', 'x'.repeat(300)) },
)
const framing = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Framing>('length') },
  { weight: 6, arbitrary: fc.constantFrom<Framing>('chunked', 'chunked-ext', 'chunked-trailers') },
  { weight: 2, arbitrary: fc.constant<Framing>('close') },
  { weight: 3, arbitrary: fc.constantFrom<Framing>('length-short', 'length-long', 'chunked-bad-size', 'chunked-no-last', 'chunked-overrun') },
  { weight: 1, arbitrary: fc.constantFrom<Framing>(...HEAD_DEFECTS) },
)
const headMutation = fc.constantFrom<HeadMutation>('obs-fold', 'space-before-colon', 'bare-lf', 'nul-in-value', 'cr-in-value', 'status-2000', 'status-abc',
  'status-099', 'no-status-line', 'version-1.2', 'length-abc', 'length-plus', 'header-overflow', 'no-colon')
const interim = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Interim[]>([]) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom<Interim>('102', '103', '103-length'), { minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom<Interim[]>(['100'], ['101'], ['101-upgrade'], ['103', '100']) },
)
const split = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), delayMs: fc.constantFrom(0, 0, 1, 3, 12) })

export const responseSpec: fc.Arbitrary<ResponseSpec> = fc.record({
  interim,
  version: fc.constantFrom<'1.1' | '1.0'>('1.1', '1.1', '1.1', '1.0'),
  connectionToken: fc.boolean(),
  status,
  reason,
  fields: fc.array(field, { maxLength: 3 }).map((fs) => fs.flat()),
  hop: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.uniqueArray(hop, { minLength: 1, maxLength: 3 }) }),
  big: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 4000, max: BIG_LIMIT }) }),
  framing,
  pad: fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 1, arbitrary: fc.constant(-1) },
    { weight: 2, arbitrary: fc.integer({ min: 1000, max: 70_000 }) },
    // past the gateway's 256 KiB pause threshold: with a client that stops reading, the upstream is paused and resumed
    { weight: 1, arbitrary: fc.integer({ min: 300_000, max: 2_000_000 }) },
  ),
  head: fc.oneof({ weight: 14, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headMutation }),
  bodyOnBodyless: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  extra: fc.oneof({ weight: 10, arbitrary: fc.constant<'none'>('none') }, { weight: 1, arbitrary: fc.constantFrom<'garbage' | 'response'>('garbage', 'response') }),
  splits: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(split, { minLength: 1, maxLength: 3 }) }),
  ending: fc.oneof({ weight: 6, arbitrary: fc.constant<'keep'>('keep') }, { weight: 2, arbitrary: fc.constantFrom<'fin' | 'reset'>('fin', 'reset') }),
  early: fc.oneof({ weight: 14, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), how: fc.constantFrom<'fin' | 'reset'>('fin', 'reset') }) }),
})

export interface FuzzRequest {
  method: Method
  /** HTTP/1.0 only for a case's last request (the gateway closes after it): its body may run to the close. */
  version: '1.1' | '1.0'
  /** 'own': a sane X-Request-Id the gateway keeps; 'none'; 'insane': one it must replace. */
  requestId: 'own' | 'none' | 'insane'
  /** The upstream's answers to its attempts in order; attempts past the list get CLEAN. */
  answers: ResponseSpec[]
}

export interface FuzzCase {
  /** Gateway with retries (3 attempts) or without (1). */
  retries: boolean
  /** All requests in one write (pipelined), or each after the answer to the one before. */
  pipelined: boolean
  /** The client stops reading for a while after each request (backpressure on the gateway). */
  slowClient: boolean
  requests: FuzzRequest[]
}

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  version: fc.constant<'1.1'>('1.1'),
  method: fc.constantFrom<Method>('GET', 'GET', 'HEAD', 'POST', 'OPTIONS'),
  requestId: fc.constantFrom<FuzzRequest['requestId']>('own', 'none', 'insane'),
  answers: fc.oneof(
    { weight: 3, arbitrary: fc.array(responseSpec, { minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.array(responseSpec, { minLength: 2, maxLength: 3 }) },
  ),
})

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  retries: fc.boolean(),
  pipelined: fc.boolean(),
  slowClient: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  requests: fc.tuple(fc.array(request, { minLength: 1, maxLength: 3 }), fc.constantFrom<'1.1' | '1.0'>('1.1', '1.1', '1.1', '1.0'))
    .map(([rs, last]) => rs.map((r, i) => i === rs.length - 1 ? { ...r, version: last } : r)),
})
