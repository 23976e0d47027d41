// The properties the upstream fuzz test (upstream-fuzz.test.ts) checks after every case: a strict HTTP/1.1 reader
// for what the client got, the outcome a correct gateway gives each request (model), and the violations.
import { CLEAN, RETRY_STATUSES, SPOOF, verdict, type FuzzCase, type Method, type Verdict } from './upstream-grammar.ts'
import { FIXED, KNOWN_CUT_LOOKS_COMPLETE } from './upstream-fuzz-known.ts'
import { jsonErrorBody } from './wire.ts'

export interface ClientResponse {
  status: number
  /** Lower-case name → values, in the order their lines came. */
  headers: Map<string, string[]>
  body: Buffer
  /** All of it arrived (a response cut short is the last one, and only when the connection closed). */
  complete: boolean
}

export interface ClientParse {
  responses: ClientResponse[]
  /** Why the bytes are not well-formed HTTP/1.1 answers to the requests sent, if they are not. */
  error: string | undefined
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const STATUS_LINE = /^HTTP\/1\.1 (\d{3}) [\t\x20-\x7e\x80-\xff]*$/
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Reads the answers to requests with these methods, in order, strictly (RFC 9112): a status line, field lines, and a
 * body framed by exactly one Content-Length or by chunked (none after HEAD, 204, 304). Interim 1xx answers are skipped.
 */
export function parseClient (raw: Buffer, methods: readonly Method[], closed: boolean, reset = false): ClientParse {
  const responses: ClientResponse[] = []
  let at = 0
  const fail = (why: string): ClientParse => ({ responses, error: `${why} at byte ${at}: ${JSON.stringify(raw.subarray(at, at + 80).toString('latin1'))}` })
  for (let i = 0; i < methods.length && at < raw.length;) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end === -1) {
      // a head cut short: only at the very end, and only once the connection closed
      const line = /^HTTP\/1\.1 (\d{3})/.exec(raw.subarray(at).toString('latin1'))
      if (closed) responses.push({ status: line === null ? 0 : Number(line[1]), headers: new Map(), body: Buffer.alloc(0), complete: false })
      return { responses, error: undefined }
    }
    const lines = raw.subarray(at, end).toString('latin1').split('\r\n')
    const status = STATUS_LINE.exec(lines[0]!)
    if (status === null) return fail('not an HTTP/1.1 status line')
    const code = Number(status[1])
    if (code < 100 || code > 599) return fail(`status ${code}`)
    const headers = new Map<string, string[]>()
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon)
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
      if (colon <= 0 || !TOKEN.test(name) || !FIELD_VALUE.test(value) || value.includes('\r') || value.includes('\n')) return fail(`a malformed field line ${JSON.stringify(line.slice(0, 60))}`)
      headers.set(name.toLowerCase(), [...(headers.get(name.toLowerCase()) ?? []), value])
    }
    const bodyStart = end + 4
    if (code === 101) return fail('101 to a request that did not ask to upgrade')
    if (code < 200) {
      at = bodyStart
      continue
    }
    const method = methods[i]!
    const te = headers.get('transfer-encoding')
    const cl = headers.get('content-length')
    if (code === 204 && (cl !== undefined || te !== undefined)) return fail('a 204 with Content-Length or Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6.1)')
    if (te !== undefined && cl !== undefined) return fail('both Content-Length and Transfer-Encoding')
    if (cl !== undefined && (cl.length !== 1 || !/^\d+$/.test(cl[0]!))) return fail(`Content-Length ${JSON.stringify(cl)}`)
    if (te !== undefined && (te.length !== 1 || te[0]!.toLowerCase() !== 'chunked')) return fail(`Transfer-Encoding ${JSON.stringify(te)}`)
    const push = (body: Buffer, complete: boolean, next: number): void => {
      responses.push({ status: code, headers, body, complete })
      at = next
      i++
    }
    if (method === 'HEAD' || code === 204 || code === 304) {
      push(Buffer.alloc(0), true, bodyStart)
      continue
    }
    if (te !== undefined) {
      const decoded = decodeChunked(raw, bodyStart)
      if (typeof decoded === 'string') return fail(decoded)
      if (decoded === undefined) {
        if (closed) push(Buffer.alloc(0), false, raw.length)
        return { responses, error: undefined }
      }
      push(decoded.body, true, decoded.next)
      continue
    }
    if (cl !== undefined) {
      const length = Number(cl[0])
      if (raw.length < bodyStart + length) {
        if (closed) push(raw.subarray(bodyStart), false, raw.length)
        return { responses, error: undefined }
      }
      push(raw.subarray(bodyStart, bodyStart + length), true, bodyStart + length)
      continue
    }
    // no framing (an HTTP/1.0 client): the body runs to the close, and only a clean close (FIN) ends it; a reset cuts it
    if (!closed) return { responses, error: undefined }
    push(raw.subarray(bodyStart), !reset, raw.length)
  }
  if (at < raw.length) return fail('bytes after the last answer')
  return { responses, error: undefined }
}

/** A chunked body from `start`: its bytes and where it ends, undefined while incomplete, a string when malformed. */
function decodeChunked (raw: Buffer, start: number): { body: Buffer; next: number } | undefined | string {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const line = raw.subarray(at, lineEnd).toString('latin1')
    if (!/^[0-9a-fA-F]+(;.*)?$/.test(line)) return `a bad chunk size line ${JSON.stringify(line.slice(0, 40))}`
    const size = parseInt(line, 16)
    at = lineEnd + 2
    if (size === 0) {
      // trailer fields, then an empty line
      for (;;) {
        const end = raw.indexOf('\r\n', at)
        if (end === -1) return undefined
        const trailer = raw.subarray(at, end).toString('latin1')
        at = end + 2
        if (trailer === '') return { body: Buffer.concat(parts), next: at }
      }
    }
    if (raw.length < at + size + 2) return undefined
    if (raw.subarray(at + size, at + size + 2).toString('latin1') !== '\r\n') return 'chunk data longer than its size'
    parts.push(raw.subarray(at, at + size))
    at += size + 2
  }
}

export type Answer =
  | { kind: 'response'; verdict: Verdict }
  | { kind: 'error'; code: 'upstream_bad_response' | 'upstream_unreachable'; or?: 'upstream_bad_response' }
  | { kind: 'cut'; status: number }

export interface Expected {
  answer: Answer
  /** Attempts that reach the upstream. */
  attempts: number
  /** Attempts the upstream failed (a failure status, a broken or missing response): outlier detection counts these. */
  failures: number
  /** What the breaker is told of the whole request: the last attempt failed. */
  breakerFailure: boolean
}

/** The outcome of one request through a gateway with `attempts` tries (GET, HEAD, OPTIONS retried; POST not). */
/**
 * `kept`: for each attempt, whether it went on a kept-alive connection (one that carried a request before). An
 * answer that fails before its head on one is the gateway's "stale" connection (src/proxy/attempt-result.ts): no
 * failure of the target's and no breaker verdict, and with retries on an extra try, on a new connection.
 */
export function expectOutcome (method: Method, answers: FuzzCase['requests'][number]['answers'], tag: string, retries: boolean, kept: readonly boolean[] = []): Expected {
  const tries = retries ? 3 : 1
  let failures = 0
  let stale = false
  for (let a = 0; ; a++) {
    const v = verdict(answers[a] ?? CLEAN, method, tag, a)
    const counted = stale ? a - 1 : a
    const more = counted < tries - 1 && method !== 'POST'
    if (v.kind === 'before-head' && kept[a] === true && !stale) {
      stale = true
      if (retries && method !== 'POST') continue
      return { answer: { kind: 'error', code: 'upstream_unreachable' }, attempts: a + 1, failures, breakerFailure: false }
    }
    // failureStatuses (502, 503, 504 by default) count even when the answer is forwarded
    const failing = v.kind !== 'valid' || RETRY_STATUSES.has(v.status)
    if (failing) failures++
    const done = (answer: Answer): Expected => ({ answer, attempts: a + 1, failures, breakerFailure: failing })
    if (v.kind === 'valid' || v.kind === 'cut-body') {
      // a retryable status is read to its end and dropped (whatever its body does) while another try may follow
      if (more && RETRY_STATUSES.has(v.status)) continue
      return done(v.kind === 'valid' ? { kind: 'response', verdict: v } : { kind: 'cut', status: v.status })
    }
    if (v.kind === 'before-head' && more) continue
    // a body broken before its first byte: nothing went out, so it is answered as an error, and never tried again
    // (the upstream took the request and answered), unless its status was one to retry (read and dropped above)
    // A connection that ended: undici reads the end of one that said it would close as the message's end, which it
    // then finds short (a bad response), and the end of a kept-alive one as the connection lost.
    if (v.kind === 'empty-body-broken') {
      if (more && RETRY_STATUSES.has(v.status)) continue
      return done(v.notes.includes('framing chunked-bad-size') ? { kind: 'error', code: 'upstream_bad_response' } : { kind: 'error', code: 'upstream_unreachable', or: 'upstream_bad_response' })
    }
    return done({ kind: 'error', code: v.kind === 'bad-head' ? 'upstream_bad_response' : 'upstream_unreachable' })
  }
}

export interface UpstreamLog {
  /** Attempts that reached the upstream, by request tag. */
  attempts: ReadonlyMap<string, number>
  /** The X-Request-Id each attempt carried, by request tag. */
  requestIds: ReadonlyMap<string, readonly string[]>
  /** Requests that arrived on a connection whose last response must have closed it. */
  reused: readonly { tag: string; after: string; why: string; known: string | undefined }[]
  /** By request tag, for each attempt: whether it came on a connection that carried a request before (kept alive). */
  onKeptConnection: ReadonlyMap<string, readonly boolean[]>
}

export interface Observed {
  raw: Buffer
  closed: boolean
  /** The gateway reset the connection (RST) rather than closed it. */
  reset: boolean
  /** Requests actually written (sequential cases stop at a closed connection). */
  sent: number
  upstream: UpstreamLog
  /** Growth of the target's counters in GET /status over the case: attempts, and attempts failed. */
  targetRequests: number
  targetFailures: number
  /** The breaker's verdicts over the case: requests judged, and judged failed. */
  judged: number
  judgedFailed: number
  /** Statuses of a clean GET through the case's gateway after it (-1: a 200 with another request's body). */
  liveness: readonly number[]
  faults: readonly string[]
}

export interface Violation {
  text: string
  /** A reported bug that explains it (upstream-fuzz-known.ts). */
  known?: string
}

export function tagOf (caseId: number, i: number): string {
  return `c${caseId}r${i}`
}

export function ownRequestId (tag: string): string {
  return `rid-${tag}`
}

/** An X-Request-Id the gateway must replace (not [A-Za-z0-9._-]{1,128}). */
export const INSANE_REQUEST_ID = 'not/sane'

export function violations (c: FuzzCase, caseId: number, o: Observed): Violation[] {
  const found: Violation[] = []
  const methods = c.requests.map((r) => r.method)
  const tags = c.requests.map((_, i) => tagOf(caseId, i))
  const knownOf = (i: number): string | undefined => {
    const ks = c.requests[i]!.answers.map((s, a) => verdict(s, c.requests[i]!.method, tags[i]!, a).known).filter((k) => k !== undefined)
    return ks.find((k) => !FIXED.has(k)) ?? ks[0]
  }
  const caseKnown = c.requests.map((_, i) => knownOf(i)).filter((k) => k !== undefined)
  const anyKnown = caseKnown.find((k) => !FIXED.has(k)) ?? caseKnown[0]
  const push = (text: string, known?: string): void => { found.push(known === undefined ? { text } : { text, known }) }

  // P1: no crash, no uncaught error, still serving
  for (const f of o.faults) push(`P1 fault: ${f}`)
  for (const s of o.liveness) if (s !== 200) push(`P1 a clean GET after the case got ${s}`)

  // P2: well-formed HTTP/1.1, a cut only at the end of a closed connection; nothing unsolicited ever passed on
  const parsed = parseClient(o.raw, methods.slice(0, o.sent), o.closed, o.reset)
  if (parsed.error !== undefined) push(`P2 ${parsed.error}`, anyKnown)
  if (o.raw.includes(SPOOF)) push('P3 the unsolicited second response reached the client')

  // P3: each request gets its own outcome, in order; nothing after a cut
  let expectedAttempts = 0
  let expectedFailures = 0
  let expectedJudged = 0
  let expectedJudgedFailed = 0
  let cutAt: number | undefined
  for (const [i, r] of c.requests.entries()) {
    const tag = tags[i]!
    const known = knownOf(i)
    const got = parsed.responses[i]
    const seen = o.upstream.attempts.get(tag) ?? 0
    if (cutAt !== undefined || i >= o.sent) {
      // the request cut short says why, if a known behaviour is behind it
      const why = cutAt === undefined ? known : knownOf(cutAt)
      if (seen > 0) push(`P3 request ${i + 1} reached the upstream though the connection was cut at request ${(cutAt ?? 0) + 1}`, why)
      if (got !== undefined) push(`P3 request ${i + 1} was answered (${got.status}) after the connection was cut`, why)
      continue
    }
    const e = expectOutcome(r.method, r.answers, tag, c.retries, o.upstream.onKeptConnection.get(tag))
    expectedAttempts += e.attempts
    expectedFailures += e.failures
    expectedJudged++
    if (e.breakerFailure) expectedJudgedFailed++
    if (seen !== e.attempts) push(`P5 request ${i + 1} (${r.method}) reached the upstream ${seen} times, not ${e.attempts}`, known)
    const ids = o.upstream.requestIds.get(tag) ?? []
    const id = r.requestId === 'own' ? ownRequestId(tag) : ids[0]
    if (ids.some((x) => x !== id) || (r.requestId === 'insane' && id === INSANE_REQUEST_ID)) push(`P4 request ${i + 1} went upstream with X-Request-Id ${JSON.stringify(ids)}, not ${id}`, known)
    const what = `request ${i + 1} (${r.method}, answers ${JSON.stringify(r.answers.map((s, a) => verdict(s, r.method, tag, a).kind))})`
    if (e.answer.kind === 'cut') {
      cutAt = i
      if (!o.closed) push(`P2 ${what} must be cut (a broken body after the head), yet the connection stayed open`, known)
      if (got !== undefined && got.complete) push(`P2 ${what} must be cut, yet a complete ${got.status} arrived`, known ?? (r.version === '1.0' ? KNOWN_CUT_LOOKS_COMPLETE : undefined))
      if (got !== undefined && got.status !== 0 && got.status !== e.answer.status) push(`P3 ${what} was cut after a ${got.status} head, not ${e.answer.status}`, known)
      continue
    }
    if ((got === undefined || !got.complete) && o.reset && c.pipelined && c.slowClient && c.requests.some((q, j) => j > i && q.version === '1.0')) {
      // the reset that shows an HTTP/1.0 client a cut (its body runs to the close) drops what the client had not read
      // yet: answers pipelined before it too, whole or their tail (a limit of TCP; only such a client is reset)
      continue
    }
    if (got === undefined || !got.complete) {
      push(`P3 ${what} expected ${e.answer.kind === 'error' ? e.answer.code : `a complete ${e.answer.verdict.status}`}, got ${got === undefined ? 'nothing' : `a ${got.status} cut short`}${o.closed ? ' (connection closed)' : ''}`, known)
      cutAt = i
      continue
    }
    const rid = got.headers.get('x-request-id') ?? []
    if (rid.length !== 1 || (id !== undefined && rid[0] !== id)) push(`P4 ${what}: the client saw X-Request-Id ${JSON.stringify(rid)}, not ${id}`, known)
    if (e.answer.kind === 'error') {
      const body = jsonErrorBody(got.body)
      // the answer to HEAD has no body to name the error in
      if (r.method === 'HEAD') {
        if (got.status !== 502) push(`P3 ${what} expected 502 ${e.answer.code}, got ${got.status}`, known)
      } else if (got.status !== 502 || (body?.error !== e.answer.code && body?.error !== e.answer.or)) push(`P3 ${what} expected 502 ${e.answer.code}, got ${got.status} ${body?.error ?? JSON.stringify(got.body.subarray(0, 60).toString('latin1'))}`, known)
      else if (body?.requestId !== rid[0]) push(`P3 ${what}: the error names request ${String(body?.requestId)}, not ${rid[0]}`, known)
      continue
    }
    const v = e.answer.verdict
    if (got.status !== v.status) push(`P3 ${what} expected ${v.status}, got ${got.status} ${JSON.stringify(got.body.subarray(0, 60).toString('latin1'))}`, known)
    const body = got.body.toString('latin1')
    if (v.body !== undefined && body !== v.body) push(`P3 ${what}: the body is ${JSON.stringify(body.slice(0, 60))} (${body.length} bytes), not ${JSON.stringify(v.body.slice(0, 60))} (${v.body.length})`, known)
    for (const [name, values] of v.forwarded) {
      const seenValues = got.headers.get(name) ?? []
      if (JSON.stringify(seenValues) !== JSON.stringify(values)) push(`P4 ${what}: ${name} reached the client as ${JSON.stringify(seenValues).slice(0, 80)}, not ${JSON.stringify(values).slice(0, 80)}`, known)
    }
    for (const name of v.dropped) if (got.headers.has(name)) push(`P4 ${what}: the hop-by-hop ${name} reached the client`, known)
    for (const { name, value } of v.leaked) if ((got.headers.get(name) ?? []).includes(value)) push(`P4 ${what}: the upstream's ${name}: ${value} reached the client`, known)
    const connection = got.headers.get('connection') ?? []
    if (connection.some((x) => !/^(keep-alive|close)$/i.test(x))) push(`P4 ${what}: Connection ${JSON.stringify(connection)} reached the client`, known)
  }

  // P4: a connection that carried a broken response (or had to close) is never used again
  for (const u of o.upstream.reused) push(`P4 request ${u.tag} was sent on the upstream connection that carried ${u.after}, which had to close (${u.why})`, u.known)

  // P5: the target's counters (GET /status) and the breaker move exactly for the upstream's faults
  if (o.targetRequests !== expectedAttempts) push(`P5 the target counted ${o.targetRequests} attempts, not ${expectedAttempts}`, anyKnown)
  if (o.targetFailures !== expectedFailures) push(`P5 the target counted ${o.targetFailures} failures, not ${expectedFailures}`, anyKnown)
  if (o.judged !== expectedJudged || o.judgedFailed !== expectedJudgedFailed) push(`P5 the breaker judged ${o.judged} requests, ${o.judgedFailed} failed; not ${expectedJudged}, ${expectedJudgedFailed}`, anyKnown)
  return found
}

