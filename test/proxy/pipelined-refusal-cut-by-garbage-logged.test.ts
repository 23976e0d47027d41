// An answer the gateway writes at once (an OPTIONS with Max-Forwards: 0, a 404 for no route), then a request it
// refuses before its turn (414 uri_too_long, 417 expectation_failed: that refusal waits in its response behind the
// answer), then bytes that fail to parse, all in one read. The connection is closed on the bytes and the refusal is
// never written (test/proxy/pipelined-refusal-last-owed.test.ts pins that). Node still hands the waiting response
// the closed connection when the answer before it finishes, and the refusal was logged and counted with its own
// status, 414 or 417, as if written (review r41a). It is logged and counted as what the client got, as a refusal
// queued behind a pipelined request and never written is (test/proxy/pipelined-refusal-counted.test.ts): 499 with
// no error, aborted, counted once as 499 client_closed. Without the bytes, the refusal is written and keeps its status.
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, logAndCounters, seriesOf } from '../unit/metrics-exposition.ts'

async function setup (t: Test): Promise<{ gw: TestGateway; port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({
    server: { maxUrlBytes: 256 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/api', pool: 'p', name: 'api' }],
  }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { gw, port: Number(new URL(gw.url).port), u }
}

const OPTIONS_AT_ONCE = 'OPTIONS /api HTTP/1.1\r\nHost: gw\r\nMax-Forwards: 0\r\n\r\n'
const NO_ROUTE = 'GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n'
const TOO_LONG = `GET /api/${'a'.repeat(300)} HTTP/1.1\r\nHost: gw\r\n\r\n`
const ODD_EXPECT = 'GET /api/x HTTP/1.1\r\nHost: gw\r\nExpect: something-else\r\n\r\n'
const TWO_LENGTHS = 'GET /api HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
const GARBAGE = 'NOT A REQUEST\r\n\r\n'

/** The status lines of every answer in `text`, in order. */
const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))

const CASES = [
  { name: 'OPTIONS with Max-Forwards: 0, a URL too long, two Content-Length lines', first: OPTIONS_AT_ONCE, refused: TOO_LONG, code: 'uri_too_long', status: 414, then: TWO_LENGTHS, answered: 200 },
  { name: 'OPTIONS with Max-Forwards: 0, a URL too long, garbage', first: OPTIONS_AT_ONCE, refused: TOO_LONG, code: 'uri_too_long', status: 414, then: GARBAGE, answered: 200 },
  { name: 'a request with no route, a URL too long, garbage', first: NO_ROUTE, refused: TOO_LONG, code: 'uri_too_long', status: 414, then: GARBAGE, answered: 404 },
  { name: 'OPTIONS with Max-Forwards: 0, an Expect other than 100-continue, two Content-Length lines', first: OPTIONS_AT_ONCE, refused: ODD_EXPECT, code: 'expectation_failed', status: 417, then: TWO_LENGTHS, answered: 200 },
]

for (const { name, first, refused, code, status, then, answered } of CASES) {
  t.test(`${name}: the refusal never written is logged and counted as 499 client_closed`, async (t) => {
    const { gw, port, u } = await setup(t)
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(first + refused + then)
    await c.closed
    t.strictSame(statuses(c.received()), [answered], 'the answer written at once, and nothing after it')
    await waitFor(() => gw.accessLogs().length === 2)
    const line = gw.accessLogs().find((l) => l.status !== answered)
    t.match(line, { status: 499, aborted: true }, 'logged as what the client got: no answer')
    t.equal(line?.error, undefined, 'not the refusal it never got')
    const series = seriesOf(await gw.gateway.metrics!.render())
    t.equal(series[key('switchyard_refused_requests_total', { code: '499', error: 'client_closed' })], 1, 'counted once, as 499 client_closed')
    t.equal(series[key('switchyard_refused_requests_total', { code: String(status), error: code })], undefined, `not counted as ${status}`)
    const { logged, counted } = await logAndCounters(gw)
    t.same(counted, logged, 'each access-log line counted once, as logged')
    t.equal(u.requests.length, 0, 'nothing reached the upstream')
  })

  t.test(`${name.slice(0, name.lastIndexOf(','))}, nothing after: the refusal is written, logged and counted as ${status}`, async (t) => {
    const { gw, port } = await setup(t)
    const c = rawConnection(t, port)
    await c.connected
    c.socket.write(first + refused)
    await waitFor(() => statuses(c.received()).length === 2)
    t.strictSame(statuses(c.received()), [answered, status])
    await waitFor(() => gw.accessLogs().length === 2)
    t.match(gw.accessLogs().find((l) => l.status !== answered), { status, error: code })
    const series = seriesOf(await gw.gateway.metrics!.render())
    t.equal(series[key('switchyard_refused_requests_total', { code: String(status), error: code })], 1)
    const { logged, counted } = await logAndCounters(gw)
    t.same(counted, logged, 'each access-log line counted once, as logged')
  })
}
