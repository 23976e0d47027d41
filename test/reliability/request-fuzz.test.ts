// Property-based fuzzing of the gateway's front door: requests generated from a grammar with mutations
// (request-grammar.ts), written as raw bytes to a real gateway in front of counting upstreams, one to three per
// write (a quarter of the cases cut into up to four writes, up to 20 ms apart: bytes that arrive after the gateway
// has answered what came before take other paths, e.g. src/proxy/client-error.ts); after each, the properties of request-fuzz-check.ts: the gateway keeps serving and never throws, writes
// only well-formed responses, lets nothing smuggled or unrouted through, sends only normalised paths under the
// route's prefix, and answers no 5xx of its own to bad input beyond the documented ones.
// Replay a failure with FUZZ_SEED=<seed> (and FUZZ_PATH=<path>) from fast-check's report; FUZZ_RUNS sets the count;
// FUZZ_STRICT=1 fails on the one known gateway bug left too (request-fuzz-known.ts; each bug pinned by a case at the end).
import { request, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import fc from 'fast-check'
import t from 'tap'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { startGateway } from '../helpers/gateway.ts'
import { collectProcessFaults } from '../helpers/process-faults.ts'
import type { HasTeardown } from '../proxy/setup.ts'
import { finalResponses, violations, type Observed, type Seen, type UpstreamName } from './request-fuzz-check.ts'
import { KNOWN_AFTER_CLOSE, KNOWN_CLOSE_IGNORED, KNOWN_HOST_ABSOLUTE, KNOWN_NOT_HTTP, KNOWN_REFUSAL_IN_PLACE, KNOWN_REORDER, KNOWN_TE10_KEPT, KNOWN_505_KEPT, FIXED } from './request-fuzz-known.ts'
import { fuzzCase, SEQ_HEADER, SMUGGLED, type FuzzRequest } from './request-grammar.ts'
import { converse } from './wire.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 250)
const STRICT = process.env.FUZZ_STRICT === '1'
const BARRIER_HEADER = 'x-fuzz-barrier'
/** A routed path per pool: one GET each after every case (liveness, and the barrier for counting). */
const BARRIER_PATHS: Record<UpstreamName, string> = { payment: '/payment/__barrier', other: '/other/__barrier', strip: '/api/__barrier' }

/** A cut in a case's bytes: where (per mille of its length), and how long after the write before it the rest goes. */
interface Cut { atPerMille: number; delayMs: number }

/** Mostly no cut (one write); a quarter of the cases up to three cuts. */
const cuts: fc.Arbitrary<Cut[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Cut[]>([]) },
  { weight: 1, arbitrary: fc.array(fc.record({ atPerMille: fc.integer({ min: 1, max: 999 }), delayMs: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 3 }) },
)

/** The writes a case's bytes go out in: [bytes, ms after the first write]. */
function writesOf (bytes: Buffer, plan: readonly Cut[]): Array<[Buffer, number]> {
  const at = [...new Set(plan.map((c) => Math.floor(c.atPerMille * bytes.length / 1000)))].filter((n) => n > 0 && n < bytes.length).sort((a, b) => a - b)
  const writes: Array<[Buffer, number]> = []
  let from = 0
  let when = 0
  for (const [i, cut] of at.entries()) {
    writes.push([bytes.subarray(from, cut), when])
    when += plan[i]!.delayMs
    from = cut
  }
  writes.push([bytes.subarray(from), when])
  return writes
}

/** The case's bytes in its writes; whatever the gateway writes back, until it closes or `done` says so. */
class Wire {
  raw = Buffer.alloc(0)
  closed = false
  /** When the last write goes out, ms after the first. */
  readonly lastWriteMs: number
  readonly #socket
  #wake: (() => void) | undefined

  constructor (port: number, writes: ReadonlyArray<[Buffer, number]>) {
    this.#socket = connect(port, '127.0.0.1')
    this.#socket.setNoDelay(true)
    this.#socket.on('data', (chunk: Buffer) => { this.raw = Buffer.concat([this.raw, chunk]); this.#wake?.() })
    this.#socket.on('close', () => { this.closed = true; this.#wake?.() })
    this.#socket.on('error', () => { this.closed = true })
    for (const [bytes, ms] of writes) {
      if (ms === 0) this.#socket.write(bytes)
      else setTimeout(() => { if (!this.#socket.destroyed) this.#socket.write(bytes) }, ms)
    }
    this.lastWriteMs = writes.at(-1)?.[1] ?? 0
  }

  /** Resolves once `done()` holds or the connection closed, or after `ms`. */
  async until (done: () => boolean, ms: number): Promise<void> {
    if (this.closed || done()) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms)
      function finish (): void { clearTimeout(timer); resolve() }
      this.#wake = () => { if (this.closed || done()) finish() }
    })
    this.#wake = undefined
  }

  destroy (): void { this.#socket.destroy() }
}

function get (port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', path, agent: false, headers: { [BARRIER_HEADER]: '1' }, timeout: 5000 }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('timeout', () => req.destroy())
    req.once('error', () => resolve(0))
    req.end()
  })
}

/**
 * The gateway under test: /payment → payment, /upload (100-byte bodies) and /other → other, /api → strip
 * (stripPrefix); nothing else routed. One connection per pool: once a pool's barrier GET is answered, whatever
 * the gateway wrote to that connection before it (a smuggled request too) has been parsed by the upstream.
 */
async function fuzzGateway (t: HasTeardown) {
  const upstreams: Record<UpstreamName, CountingUpstream> = { payment: await CountingUpstream.start(), other: await CountingUpstream.start(), strip: await CountingUpstream.start() }
  for (const u of Object.values(upstreams)) t.teardown(() => u.close())
  // no breaker or outlier ejection: one case's upstream failures must not answer the next case's liveness GETs
  // (that a client can open the breaker is pinned below, on a gateway of its own)
  const pool = (url: string) => ({ targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 }, circuitBreaker: { enabled: false }, outlier: { enabled: false } })
  const gw = await startGateway({
    server: { maxUrlBytes: 1024, maxHeaderBytes: 4096 },
    pools: { payment: pool(upstreams.payment.url), other: pool(upstreams.other.url), strip: pool(upstreams.strip.url) },
    routes: [
      { path: '/payment', pool: 'payment' },
      { path: '/upload', pool: 'other', maxBodyBytes: 100 },
      { path: '/other', pool: 'other' },
      { path: '/api', pool: 'strip', stripPrefix: true },
    ],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  // every fuzz request whose head an upstream parsed, in arrival order; `whole` once its body ended too
  const arrivals: (Seen & { whole: boolean })[] = []
  for (const [name, u] of Object.entries(upstreams) as [UpstreamName, CountingUpstream][]) {
    u.server.on('request', (req: IncomingMessage) => {
      if (req.headers[BARRIER_HEADER] !== undefined) return
      const tag = req.headers[SEQ_HEADER.toLowerCase()]
      const entry = { upstream: name, url: req.url ?? '', seq: typeof tag === 'string' && /^\d+$/.test(tag) ? Number(tag) : undefined, rawHeaders: req.rawHeaders, whole: false }
      arrivals.push(entry)
      req.once('end', () => { entry.whole = true })
    })
  }
  return {
    port,
    upstreams,
    /** One well-formed GET per pool, in parallel: their statuses. */
    barrier: () => Promise.all(Object.values(BARRIER_PATHS).map((path) => get(port, path))),
    reset: () => {
      for (const u of Object.values(upstreams)) u.reset()
      arrivals.length = 0
    },
    /** The requests the upstreams parsed whole since the last reset, barrier GETs left out. */
    seen: (): Seen[] => arrivals.filter((a) => a.whole).map(({ whole: _, ...seen }) => seen),
    parseErrors: () => Object.values(upstreams).reduce((n, u) => n + u.parseErrors, 0),
  }
}

/** Writes `bytes`, waits for the answers (or the close), passes the barrier, and collects what was observed. */
async function exchange (gw: Awaited<ReturnType<typeof fuzzGateway>>, bytes: string, answers: number, waitMs: number, faults: readonly string[] = [], plan: readonly Cut[] = []): Promise<Observed> {
  gw.reset()
  const wire = new Wire(gw.port, writesOf(Buffer.from(bytes, 'latin1'), plan))
  // the whole case is written before its answers are waited for
  if (wire.lastWriteMs > 0) await new Promise((resolve) => setTimeout(resolve, wire.lastWriteMs))
  await wire.until(() => finalResponses(wire.raw, false).responses.length >= answers, waitMs)
  const liveness = await gw.barrier()
  // the connection stayed open through the barrier: a response still arriving, or a close still coming, lands now
  await wire.until(() => {
    const { responses, rest } = finalResponses(wire.raw, false)
    return rest.length === 0 && !/(^|,)\s*close\s*(,|$)/i.test(responses.at(-1)?.headers.connection ?? '')
  }, 1000)
  wire.destroy()
  return { raw: wire.raw, closed: wire.closed, seen: gw.seen(), upstreamParseErrors: gw.parseErrors(), liveness, faults: [...faults] }
}

t.test('each property fails on an observation that breaks it', async (t) => {
  const clean: FuzzRequest = { bytes: 'GET /payment/a HTTP/1.1\r\nX-Fuzz-Seq: 0\r\nHost: gw.example\r\n\r\n', safe: true, known: undefined, mustDrop: ['x_user'], notes: [], mustNotReach: false, poison: false, ambiguous: false, closes: false, incomplete: false }
  const answer = (status: number, body: object, extra = ''): string => {
    const text = JSON.stringify(body)
    return `HTTP/1.1 ${status} X\r\ncontent-length: ${text.length}\r\n${extra}\r\n${text}`
  }
  const ok = answer(200, { url: '/payment/a' })
  const base: Observed = { raw: Buffer.from(ok), closed: false, seen: [{ upstream: 'payment', url: '/payment/a', seq: 0, rawHeaders: ['Host', 'gw.example'] }], upstreamParseErrors: 0, liveness: [200, 200, 200], faults: [] }
  const check = (requests: readonly FuzzRequest[], change: Partial<Omit<Observed, 'raw'>> & { raw?: string }) =>
    violations(requests, { ...base, ...change, raw: Buffer.from(change.raw ?? ok, 'latin1') }).map((v) => v.text)
  t.strictSame(check([clean], {}), [], 'a clean exchange holds every property')

  const fails = (name: string, requests: readonly FuzzRequest[], change: Parameters<typeof check>[1], property: string): void => {
    const found = check(requests, change)
    t.ok(found.some((v) => v.startsWith(property)), `${property}: ${name}`, { found })
  }
  fails('an uncaught exception', [clean], { faults: ['uncaughtException: boom'] }, 'P1')
  fails('a GET after the case answered 502', [clean], { liveness: [200, 502, 200] }, 'P1')
  fails('garbage after a response', [clean], { raw: `${ok}HTTP/1.1 2` }, 'P2')
  fails('garbage instead of a response', [clean], { raw: 'hello', seen: [] }, 'P2')
  fails('a status past 599', [clean], { raw: answer(600, {}) }, 'P2')
  fails('a response after Connection: close', [clean, clean], { raw: answer(404, { error: 'no_route', requestId: 'a' }, 'connection: close\r\n') + ok, closed: true, seen: [] }, 'P2')
  fails('Connection: close and the connection left open', [clean], { raw: answer(200, {}, 'connection: close\r\n') }, 'P2')
  fails('a parser refusal in place of a forwarded request\'s answer', [clean, { ...clean, poison: true, mustNotReach: true }], { raw: answer(400, { error: 'bad_request' }, 'connection: close\r\n'), closed: true }, 'P2')
  const one = (url: string, seq: number | undefined = 0, upstream: UpstreamName = 'payment', rawHeaders = ['Host', 'gw.example']): Seen[] => [{ upstream, url, seq, rawHeaders }]
  fails('one request seen twice', [clean], { seen: [...one('/payment/a'), ...one('/payment/a')] }, 'P3')
  fails('a request the client never framed seen', [clean], { seen: [...one('/payment/a'), ...one('/payment/b', undefined)] }, 'P3')
  fails('a request refused as unrouted seen', [{ ...clean, mustNotReach: true }], { raw: answer(404, { error: 'no_route', requestId: 'a' }) }, 'P3')
  fails('a request seen behind a poisoned one', [{ ...clean, poison: true }, clean], { seen: one('/payment/a', 1) }, 'P3')
  fails('a request seen behind Connection: close', [{ ...clean, closes: true }, clean], { seen: one('/payment/a', 1) }, 'P3')
  fails('a request seen behind an answer that closed', [clean, clean], { raw: answer(400, { error: 'bad_request', requestId: 'a' }, 'connection: close\r\n'), closed: true, seen: one('/payment/a', 1) }, 'P3')
  fails('an unsafe request reordered', [{ ...clean, safe: false }, clean], { raw: ok + ok, seen: [...one('/payment/a', 1), ...one('/payment/a', 0)] }, 'P3')
  t.strictSame(check([clean, clean], { raw: ok + ok, seen: [...one('/payment/a', 1), ...one('/payment/a', 0)] }), [], 'safe requests may be processed in parallel')
  fails('the request hidden in a body seen', [clean], { seen: one('/payment/smuggled') }, 'P3')
  fails('an upstream sent bytes it could not parse', [clean], { upstreamParseErrors: 1 }, 'P3')
  const amb: FuzzRequest = { ...clean, bytes: `POST /payment HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, mustNotReach: true, poison: true, ambiguous: true }
  fails('ambiguous framing answered 200', [amb], { raw: ok, closed: true, seen: [] }, 'P3')
  fails('ambiguous framing and the connection left open', [amb], { raw: answer(400, { error: 'bad_request' }), seen: [] }, 'P3')
  fails('a path outside the upstream\'s prefix', [clean], { seen: one('/other/a') }, 'P4')
  fails('a dot segment sent', [clean], { seen: one('/payment/../a') }, 'P4')
  fails('an encoded dot segment sent', [clean], { seen: one('/a/%2E%2e;x/b', 0, 'strip') }, 'P4')
  fails('an empty segment sent', [clean], { seen: one('/other//a', 0, 'other') }, 'P4')
  fails('a raw control byte sent', [clean], { seen: one('/payment/a\x01') }, 'P4')
  fails('an encoded slash sent', [clean], { seen: one('/payment/a%2Fb') }, 'P4')
  fails('an encoded unreserved character sent', [clean], { seen: one('/payment/%7Euser') }, 'P4')
  fails('no Host sent', [clean], { seen: one('/payment/a', 0, 'payment', []) }, 'P4')
  fails('two Hosts sent', [clean], { seen: one('/payment/a', 0, 'payment', ['host', 'a', 'host', 'b']) }, 'P4')
  fails('a Host that is not an authority sent', [clean], { seen: one('/payment/a', 0, 'payment', ['host', 'a b']) }, 'P4')
  fails('a field the gateway must drop sent', [clean], { seen: one('/payment/a', 0, 'payment', ['host', 'gw.example', 'X_User', 'admin']) }, 'P4')
  fails('500 internal_error to client input', [clean], { raw: answer(500, { error: 'internal_error', requestId: 'a' }), seen: [] }, 'P5')
  fails('502 without reaching an upstream', [clean], { raw: answer(502, { error: 'upstream_unreachable', requestId: 'a' }), seen: [] }, 'P5')
  t.strictSame(check([clean], { raw: answer(502, { error: 'upstream_unreachable', requestId: 'a' }) }), [], 'a 502 from a reached upstream is allowed')
  const knownOf = (requests: readonly FuzzRequest[], change: Partial<Observed>) => violations(requests, { ...base, ...change }).map((v) => v.known)
  t.strictSame(knownOf([clean, clean], { raw: Buffer.from(answer(400, { error: 'bad_request', requestId: 'a' }, 'connection: close\r\n')), closed: true, seen: one('/payment/a', 1) }), [KNOWN_AFTER_CLOSE], 'a known bug is told apart')
  t.strictSame(knownOf([{ ...clean, mustNotReach: true, known: KNOWN_HOST_ABSOLUTE }], {}), [KNOWN_HOST_ABSOLUTE], 'a request built to run into a known bug is told apart')
  t.strictSame(check([{ ...clean, mustNotReach: true, poison: true }], { raw: answer(501, { error: 'unsupported_transfer_coding', requestId: 'a' }), seen: [] }), [], 'the documented 501 is allowed')
})

t.test('requests generated from a grammar with mutations, against a real gateway', async (t) => {
  const gw = await fuzzGateway(t)
  const faults = collectProcessFaults(t)

  let cases = 0
  /** What the runs exercised (a comment: a grammar that stopped reaching the upstreams would show here). */
  const stats = { reached: 0, closed: 0, written: 0, statuses: new Map<number, number>() }
  /** Cases that showed a known, reported gateway bug (failing only under FUZZ_STRICT=1). */
  const known = new Map<string, number>()
  const run = async ([requests, plan]: [FuzzRequest[], Cut[]]): Promise<void> => {
    cases++
    const faultsBefore = faults.length
    // each request gets at most one answer; a request cut short gets none until the client leaves
    const waitMs = requests.some((r) => r.incomplete) ? 150 : 2000
    const bytes = requests.map((r) => r.bytes).join('')
    const observed = await exchange(gw, bytes, requests.length, waitMs, [], plan)
    if (writesOf(Buffer.from(bytes, 'latin1'), plan).length > 1) stats.written++
    observed.faults = faults.slice(faultsBefore)
    if (observed.seen.length > 0) stats.reached++
    if (observed.closed) stats.closed++
    for (const r of finalResponses(observed.raw, observed.closed).responses) stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1)
    const found = violations(requests, observed)
    for (const v of found) if (v.known !== undefined) known.set(v.known, (known.get(v.known) ?? 0) + 1)
    const problems = found.filter((v) => STRICT || v.known === undefined || FIXED.has(v.known)).map((v) => v.text)
    if (problems.length > 0) {
      throw new Error(`${problems.join('\n')}\nsent: ${JSON.stringify(requests.map((r) => r.bytes).join(''))}\nflags: ${JSON.stringify(requests.map(({ bytes: _, ...f }) => f))}\nwrites [bytes, ms]: ${JSON.stringify(writesOf(Buffer.from(bytes, 'latin1'), plan).map(([b, ms]) => [b.length, ms]))}\ngot: ${JSON.stringify(observed.raw.toString('latin1').slice(0, 600))}`)
    }
  }

  const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
  await fc.assert(fc.asyncProperty(fc.tuple(fuzzCase, cuts), run), {
    numRuns: RUNS,
    ...(seed === undefined ? {} : { seed }),
    ...(process.env.FUZZ_PATH === undefined ? {} : { path: process.env.FUZZ_PATH }),
  })
  t.pass(`${RUNS} generated cases held every property`)
  t.comment(`${cases} cases: ${stats.written} in more than one write, ${stats.reached} reached an upstream, ${stats.closed} closed by the gateway; statuses ${JSON.stringify(Object.fromEntries([...stats.statuses].sort((a, b) => a[0] - b[0])))}`)
  for (const [bug, n] of known) t.comment(`known bug seen in ${n} cases: ${bug}`)
  t.ok(stats.reached > 0 && (stats.statuses.get(200) ?? 0) > 0, 'some generated requests were forwarded and answered')
  t.strictSame(faults, [], 'no uncaught exception or unhandled rejection during the run')
  t.strictSame(await gw.barrier(), [200, 200, 200], 'still serving at the end')
})

// The bugs the fuzzing found, as exact cases; each failed before its fix in src/. The one part left open (an RTSP
// or ICE line with an HTTP method, which Node reports as HTTP/1.0) is asserted as a todo.
t.test('the gateway bugs the fuzzing found, as exact cases', async (t) => {
  const gw = await fuzzGateway(t)

  await t.test(KNOWN_REFUSAL_IN_PLACE, async (t) => {
    // a valid GET, then bytes Node's parser refuses, in one write; the pool's connection is warm (the barrier),
    // so the GET is on its way upstream before the refusal
    await gw.barrier()
    const observed = await exchange(gw, 'GET /payment/a HTTP/1.1\r\nHost: gw.example\r\n\r\nx', 1, 2000)
    const { responses } = finalResponses(observed.raw, observed.closed)
    const forwarded = observed.seen.length > 0
    t.comment(`the upstream ${forwarded ? 'served' : 'did not see'} the GET; the client read ${responses.map((r) => r.status).join(', ') || 'nothing'}`)
    t.ok(!forwarded || responses[0]?.status === 200, "a GET the upstream served gets its own answer first (RFC 9112 §9.3.2), not the parser's 400")
  })

  await t.test(KNOWN_AFTER_CLOSE, async (t) => {
    const second = 'POST /payment/second HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 0\r\n\r\n'
    for (const [name, first] of [
      ['Transfer-Encoding on HTTP/1.0 (RFC 9112 §6.1: faulty framing, close)', 'GET /nope HTTP/1.0\r\nHost: gw.example\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
      ['an unsupported transfer coding (501)', 'POST /payment/a HTTP/1.1\r\nHost: gw.example\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'],
    ]) {
      await gw.barrier()
      const observed = await exchange(gw, first! + second, 2, 2000)
      const { responses } = finalResponses(observed.raw, observed.closed)
      t.ok(responses.length === 1 && /close/i.test(responses[0]!.headers.connection ?? ''), `${name}: one answer, and it closes the connection`)
      t.strictSame(observed.seen, [], `${name}: the request written behind it reaches no upstream`)
    }
  })

  // a refusal decided before (414) or instead of (505) the framing check: what follows cannot be trusted
  for (const [name, first, status, why] of [
    [KNOWN_TE10_KEPT, `GET /payment/${'a'.repeat(1100)} HTTP/1.0\r\nHost: gw.example\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 414, 'RFC 9112 §6.1: faulty framing'],
    [KNOWN_505_KEPT, 'GET /payment/a HTTP/2.0\r\nHost: gw.example\r\nConnection: keep-alive\r\n\r\n', 505, 'what follows was framed by the refused version'],
  ] as const) {
    await t.test(name, async (t) => {
      await gw.barrier()
      const observed = await exchange(gw, `${first}POST /payment/second HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 0\r\n\r\n`, 2, 2000)
      t.equal(finalResponses(observed.raw, observed.closed).responses[0]?.status, status, `answered ${status}`)
      t.ok(observed.closed, `and the connection closed (${why})`)
      t.strictSame(observed.seen, [], 'the request behind it reaches no upstream')
    })
  }

  await t.test(KNOWN_REORDER, async (t) => {
    await gw.barrier()
    // a POST with a body, then a DELETE without: the DELETE must not overtake the POST (RFC 9112 §9.3.2)
    const observed = await exchange(gw, 'POST /payment/first HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 5\r\n\r\nhelloDELETE /payment/second HTTP/1.1\r\nHost: gw.example\r\n\r\n', 2, 2000)
    t.equal(finalResponses(observed.raw, observed.closed).responses.length, 2, 'both are answered')
    t.strictSame(observed.seen.map((s) => s.url), ['/payment/first', '/payment/second'], 'in the order written')
  })

  await t.test(KNOWN_NOT_HTTP, async (t) => {
    // Node reports the version number, not the protocol's name: an RTSP or ICE line with an HTTP method is read
    // as HTTP/1.0, and only a method that is not HTTP can be told apart (and refused: 501 method_not_implemented)
    const todo = 'Node tells the gateway the version number of a request line, not the name of its protocol'
    for (const [line, open] of [['DESCRIBE /payment RTSP/1.0', false], ['GET /payment RTSP/1.0', true], ['SOURCE /payment ICE/1.0', true]] as const) {
      const observed = await exchange(gw, `${line}\r\nHost: gw.example\r\n\r\n`, 1, 2000)
      const status = finalResponses(observed.raw, observed.closed).responses[0]?.status ?? 0
      t.comment(`${line}: ${status}, ${observed.seen.length} reached, ${observed.upstreamParseErrors} upstream parse errors`)
      t.ok(observed.seen.length === 0 && observed.upstreamParseErrors === 0 && (status === 501 || (status >= 400 && status < 500)), `${line}: refused (RFC 9112 §2.3), nothing sent upstream`, open ? { todo } : {})
    }
  })

  await t.test('a client cannot open the circuit breaker with RTSP request lines', async (t) => {
    // the default breaker: 50% errors over at least 20 requests in 10 s
    const u = await CountingUpstream.start()
    t.teardown(() => u.close())
    const own = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/payment', pool: 'p' }] }, { defaultMetrics: false })
    t.teardown(() => own.close())
    const port = Number(new URL(own.url).port)
    const statuses = new Set<number>()
    for (let i = 0; i < 25; i++) {
      const c = await converse(port, 'DESCRIBE /payment RTSP/1.0\r\nHost: gw.example\r\nCSeq: 1\r\n\r\n', { waitForClose: true })
      statuses.add(c.responses[0]?.status ?? 0)
    }
    t.comment(`25 RTSP DESCRIBE requests answered ${[...statuses].join(', ')}`)
    t.equal(await get(port, '/payment/after'), 200, 'a well-formed GET is still served')
  })

  await t.test(KNOWN_CLOSE_IGNORED, async (t) => {
    const observed = await exchange(gw, 'GET /payment/a HTTP/1.0\r\nHost: gw.example\r\nConnection: keep-alive, close\r\n\r\nGET /payment/b HTTP/1.1\r\nHost: gw.example\r\n\r\n', 2, 2000)
    const { responses } = finalResponses(observed.raw, observed.closed)
    t.match(responses[0]?.headers.connection ?? '', /close/i, 'the answer closes the connection (RFC 9112 §9.6: close wins)')
    t.strictSame(observed.seen.map((s) => s.url), ['/payment/a'], 'and the request behind it is not served')
  })

  await t.test(KNOWN_HOST_ABSOLUTE, async (t) => {
    const observed = await exchange(gw, 'GET http://gw.example/payment HTTP/1.1\r\nHost: a b\r\n\r\n', 1, 2000)
    t.equal(finalResponses(observed.raw, observed.closed).responses[0]?.status, 400, 'is refused with 400 (RFC 9112 §3.2: a Host with an invalid field value)')
    t.strictSame(observed.seen, [], 'and reaches no upstream')
  })
})
