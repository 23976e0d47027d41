// The properties of the front-door fuzz test, as one function from a generated case and what was observed to the
// list of what went wrong (empty when every property holds). Kept apart from the harness so that each property
// can be shown to fail on a made-up observation (request-fuzz.test.ts does).
import { KNOWN_AFTER_CLOSE, KNOWN_CLOSE_IGNORED, KNOWN_NOT_HTTP, KNOWN_REFUSAL_IN_PLACE, KNOWN_REORDER } from './request-fuzz-known.ts'
import { SMUGGLED, type FuzzRequest } from './request-grammar.ts'
import { jsonErrorBody, parseAll } from './wire.ts'

export type UpstreamName = 'payment' | 'other' | 'strip'

export interface Seen {
  upstream: UpstreamName
  url: string
  /** Its X-Fuzz-Seq: which of the case's requests it is (undefined: none the client framed). */
  seq: number | undefined
  /** [name, value, …] as the upstream's parser read them. */
  rawHeaders: readonly string[]
}

export interface Observed {
  /** Every byte the gateway wrote on the case's connection. */
  raw: Buffer
  /** The gateway closed (or reset) the connection. */
  closed: boolean
  /** The fuzz requests the upstreams parsed whole, in the order their heads arrived (barrier requests left out). */
  seen: readonly Seen[]
  /** Byte streams an upstream's parser refused. */
  upstreamParseErrors: number
  /** Statuses of the well-formed GETs sent to a routed path of each pool after the case. */
  liveness: readonly number[]
  /** uncaughtException / unhandledRejection seen in this process during the case. */
  faults: readonly string[]
}

/** Under which prefixes each upstream may be sent a path (the strip pool's route strips '/api'). */
const PREFIXES: Record<UpstreamName, readonly string[]> = { payment: ['/payment'], other: ['/other', '/upload'], strip: ['/'] }

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'
/** uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP literal or a reg-name. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/

/** The 5xx answers the gateway documents for a client's input itself (src/errors.ts): 501 for a method it does not implement (RTSP's, CONNECT) among them. */
const DOCUMENTED_5XX = new Set(['unsupported_transfer_coding', 'http_version_not_supported', 'method_not_implemented'])

/**
 * Why request `seq` of the case may not reach an upstream, judged from how the case was built, and the request
 * that decides it; undefined if it may.
 */
export function mayNotReach (requests: readonly FuzzRequest[], seq: number): { why: string; by: FuzzRequest | undefined; closes?: true } | undefined {
  const r = requests[seq]
  if (r === undefined) return { why: 'no such request', by: undefined }
  for (const [i, before] of requests.slice(0, seq).entries()) {
    if (before.poison) return { why: `it was written behind request ${i + 1}, whose framing ends the stream (${before.notes.join(', ')})`, by: before }
    if (before.closes) return { why: `it was written behind request ${i + 1}, which asked to close (${before.notes.join(', ')})`, by: before, closes: true }
  }
  if (r.mustNotReach) return { why: `it must be refused (${r.notes.join(', ')})`, by: r }
  if (r.incomplete && seq === requests.length - 1) return { why: 'its body was cut short', by: r }
  return undefined
}

/** Index of the first request with ambiguous framing that the gateway reads at all, if any. */
export function ambiguousAt (requests: readonly FuzzRequest[]): number | undefined {
  for (const [i, r] of requests.entries()) {
    if (r.ambiguous) return i
    if (r.poison || r.closes) return undefined
  }
  return undefined
}

export interface Violation {
  text: string
  /** Set for a gateway bug already reported: the name of the todo regression test that pins it. */
  known?: string
}

export function violations (requests: readonly FuzzRequest[], o: Observed): Violation[] {
  const found: Violation[] = []
  const out = { push: (text: string, known?: string): void => { found.push(known === undefined ? { text } : { text, known }) } }
  // in a case with a non-HTTP request line, an upstream refusing what it was sent, and the 502 for it, are that bug
  const notHttp = requests.some((r) => r.known === KNOWN_NOT_HTTP) ? KNOWN_NOT_HTTP : undefined
  // 1. never crashes, keeps serving
  for (const f of o.faults) out.push(`P1 fault in the process: ${f}`)
  for (const s of o.liveness) if (s !== 200) out.push(`P1 a well-formed GET after the case got ${s}, not 200`)

  // 2. every answer a well-formed HTTP/1.1 response; nothing after one that declared the connection closing
  const raw = withoutContinue(o.raw)
  const { responses, rest } = parseAll(raw, o.closed)
  if (raw.length > 0 && !raw.subarray(0, 9).equals(Buffer.from('HTTP/1.1 '))) out.push(`P2 the first bytes are not an HTTP/1.1 status line: ${JSON.stringify(raw.subarray(0, 40).toString('latin1'))}`)
  if (rest.length > 0) out.push(`P2 ${rest.length} bytes that are not a complete response: ${JSON.stringify(rest.subarray(0, 60).toString('latin1'))}`)
  for (const [i, r] of responses.entries()) {
    if (r.status < 100 || r.status > 599) out.push(`P2 status ${r.status}`)
    const closing = isClosing(r)
    if (closing && i < responses.length - 1) out.push(`P2 response ${i + 1} said Connection: close, and ${responses.length - 1 - i} more followed`)
    if (closing && i === responses.length - 1 && !o.closed) out.push('P2 the last response said Connection: close, and the connection stayed open')
  }

  // a refusal by Node's parser answers the bytes after every request the gateway admitted: each of those
  // that reached an upstream must have had its own answer first
  const refusedAt = responses.findIndex(isParserRefusal)
  if (refusedAt !== -1 && o.seen.length > refusedAt) {
    found.push({ text: `P2 response ${refusedAt + 1} is a parser refusal (${responses[refusedAt]!.status}), yet ${o.seen.length} requests reached the upstreams and only ${refusedAt} answers came before it`, known: KNOWN_REFUSAL_IN_PLACE })
  }

  // 3. no smuggling: only requests the client framed, each at most once, none that had to be refused or were
  // written behind framing that ends the stream, none behind an answer that closed the connection
  const closedAt = responses.findIndex((r) => !isParserRefusal(r) && isClosing(r))
  const counted = new Set<number>()
  for (const s of o.seen) {
    const what = `${s.upstream} ${JSON.stringify(s.url)}`
    if (s.seq === undefined) {
      out.push(`P3 a request the client never framed reached an upstream: ${what}`)
      continue
    }
    if (counted.has(s.seq)) out.push(`P3 request ${s.seq + 1} reached the upstreams twice: ${what}`)
    counted.add(s.seq)
    const not = mayNotReach(requests, s.seq)
    if (closedAt !== -1 && s.seq > closedAt) {
      found.push({ text: `P3 request ${s.seq + 1} reached an upstream (${what}), written behind the answer ${closedAt + 1} that closed the connection (RFC 9112 §9.6)${not === undefined ? '' : `; and ${not.why}`}`, known: KNOWN_AFTER_CLOSE })
    } else if (not !== undefined) {
      // a known bug explains it only where that bug is the reason given
      const known = not.by?.known === KNOWN_CLOSE_IGNORED ? (not.closes === true ? KNOWN_CLOSE_IGNORED : undefined) : not.by?.known
      out.push(`P3 request ${s.seq + 1} reached an upstream (${what}), though ${not.why}`, known)
    }
  }
  if (o.seen.some((s) => s.url.includes('smuggled'))) out.push(`P3 a request hidden in a body reached an upstream (${JSON.stringify(SMUGGLED.split('\r\n')[0])})`)
  if (o.upstreamParseErrors > 0) out.push(`P3 an upstream was sent ${o.upstreamParseErrors} byte streams it could not parse`, notHttp)
  // pipelined requests may be processed in parallel only if all are safe (RFC 9112 §9.3.2)
  for (const [i, a] of o.seen.entries()) {
    for (const b of o.seen.slice(i + 1)) {
      if (a.seq === undefined || b.seq === undefined || a.seq <= b.seq) continue
      if (requests[a.seq]?.safe === true && requests[b.seq]?.safe === true) continue
      found.push({ text: `P3 request ${a.seq + 1} reached its upstream before request ${b.seq + 1}, written before it, and not both are safe`, known: KNOWN_REORDER })
    }
  }
  const amb = ambiguousAt(requests)
  if (amb !== undefined) {
    const last = responses.at(-1)
    // a request line refused first (505 for another HTTP version) is a refusal too: its framing was never read
    const refusal = last !== undefined && ((last.status >= 400 && last.status <= 499) || DOCUMENTED_5XX.has(errorCode(last.body) ?? ''))
    // or it is never answered at all: the requests before it are, the last of those with Connection: close, and the
    // connection then closes (src/proxy/client-error.ts answers the request in flight rather than cut it for a 400)
    const closedBefore = last !== undefined && responses.length <= amb && isClosing(last)
    if (last !== undefined && !refusal && !closedBefore) out.push(`P3 ambiguous framing (request ${amb + 1}) answered ${last.status}, not a refusal`)
    if (!o.closed) out.push(`P3 ambiguous framing (request ${amb + 1}) and the connection stayed open`)
  }

  // 4. route integrity
  for (const s of o.seen) {
    const q = s.url.indexOf('?')
    const path = q === -1 ? s.url : s.url.slice(0, q)
    if (!PREFIXES[s.upstream].some((prefix) => under(path, prefix))) out.push(`P4 ${s.upstream} was sent ${JSON.stringify(s.url)}, outside ${PREFIXES[s.upstream].join(' and ')}`)
    if (/[\x00-\x20\x7f]/.test(s.url)) out.push(`P4 a raw control byte or space in the path sent: ${JSON.stringify(s.url)}`)
    if (!path.startsWith('/') || path.includes('//')) out.push(`P4 an empty segment in the path sent: ${JSON.stringify(s.url)}`)
    for (const seg of path.split('/')) {
      const base = seg.split(';')[0]!.replace(/%2e/gi, '.')
      if (base === '.' || base === '..') out.push(`P4 a dot segment (${JSON.stringify(seg)}) in the path sent: ${JSON.stringify(s.url)}`)
    }
    if (/%2f|%5c|\\|%(?:[01][0-9a-f]|7f)/i.test(path)) out.push(`P4 an encoded separator or control byte in the path sent: ${JSON.stringify(s.url)}`)
    if (/%(?:[a-f][0-9a-f]|[0-9a-f][a-f])/.test(path)) out.push(`P4 an escape in lower case in the path sent (routed in upper case, RFC 3986 §6.2.2.1, so sent so): ${JSON.stringify(s.url)}`)
    if (/%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2[de]|5f|7e)/i.test(path)) out.push(`P4 an encoded unreserved character in the path sent (routed decoded, so sent decoded): ${JSON.stringify(s.url)}`)
    // one Host, an authority (RFC 9110 §7.2); none of the fields the gateway must drop
    const names = s.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
    const hosts = s.rawHeaders.filter((_, i) => i % 2 === 1 && names[(i - 1) / 2] === 'host')
    if (hosts.length !== 1 || !AUTHORITY.test(hosts[0]!)) out.push(`P4 ${s.upstream} was sent Host ${JSON.stringify(hosts)} for ${JSON.stringify(s.url)}`)
    const leaked = s.seq === undefined ? [] : (requests[s.seq]?.mustDrop ?? []).filter((n) => names.includes(n))
    if (leaked.length > 0) out.push(`P4 request ${(s.seq ?? 0) + 1} was forwarded with ${leaked.join(', ')}, which the gateway must drop`)
  }

  // 5. no 5xx of the gateway's own for bad client input, beyond what it documents
  const reached = o.seen.length > 0
  for (const r of responses) {
    if (r.status < 500) continue
    const code = errorCode(r.body)
    const upstreamFault = reached && code !== undefined && code.startsWith('upstream_')
    if (!(code !== undefined && DOCUMENTED_5XX.has(code)) && !upstreamFault) out.push(`P5 ${r.status} ${code ?? '(no catalogue code)'} for client input${reached ? '' : ', the upstream never reached'}`, notHttp)
  }
  return found
}

/** Node answers Expect: 100-continue with an interim 100 before the final answer (RFC 9110 §15.2.1). */
export function withoutContinue (raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replaceAll(CONTINUE, ''), 'latin1')
}

/** The final responses in `raw`, and the bytes after them. */
export function finalResponses (raw: Buffer, closed: boolean): ReturnType<typeof parseAll> {
  return parseAll(withoutContinue(raw), closed)
}

function isClosing (r: { headers: Record<string, string> }): boolean {
  return (r.headers.connection ?? '').toLowerCase().split(',').some((t) => t.trim() === 'close')
}

function under (path: string, prefix: string): boolean {
  return prefix === '/' ? path.startsWith('/') : path === prefix || path.startsWith(`${prefix}/`)
}


function errorCode (body: Buffer): string | undefined {
  const error = jsonErrorBody(body)?.error
  return typeof error === 'string' ? error : undefined
}

/** The catalogue's answer without a request id: Node's parser refused the bytes (src/proxy/client-error.ts). */
function isParserRefusal (r: { body: Buffer }): boolean {
  const parsed = jsonErrorBody(r.body)
  return parsed !== undefined && typeof parsed.error === 'string' && parsed.requestId === undefined
}
