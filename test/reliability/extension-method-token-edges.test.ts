// The edges of telling an unknown method (501 method_not_implemented) from garbage (400 bad_request) by the bytes
// Node's parser stopped in (src/proxy/client-error.ts isExtensionMethod), which extension-method-501.test.ts leaves
// open:
// - every tchar of RFC 9110 §5.6.2 may spell a method (digits, and !#$%&'*+-.^_`|~), not only letters and '-';
// - a method needs at least one tchar: a request line that starts with a space is garbage;
// - the request starts after the last LF before the byte the parser stopped at, not after an LF at that byte: "GE"
//   cut by a bare LF is garbage, whatever the next line holds;
// - the window the method is looked for in is 64 bytes: a 63-byte method and its space are seen (501), a method of
//   64 bytes or more is not told from garbage (400);
// - the 501 is logged with its status and counted in switchyard_refused_requests_total, as the 400 is.
// Either way the connection closes and nothing reaches the upstream.
import t from 'tap'
import { clientErrorCode } from '../../src/proxy/client-error.ts'
import { gateway } from '../proxy/setup.ts'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { converse } from './wire.ts'

const h = 'Host: a\r\n'
const EVERY_TCHAR = "!#$%&'*+-.^_`|~09azAZ"

/** [name, request bytes, where Node's parser stops in them (HPE_INVALID_METHOD), the status, the code]. */
const CASES: [string, string, number, number, string][] = [
  ['a method of every tchar', `${EVERY_TCHAR} /pot HTTP/1.1\r\n${h}\r\n`, 0, 501, 'method_not_implemented'],
  ['a method of digits', `2024 /pot HTTP/1.1\r\n${h}\r\n`, 0, 501, 'method_not_implemented'],
  ['a line that starts with a space', ` GET /pot HTTP/1.1\r\n${h}\r\n`, 0, 400, 'bad_request'],
  ['a method prefix cut by a bare LF', `GE\nBREW /pot HTTP/1.1\r\n${h}\r\n`, 2, 400, 'bad_request'],
  ['a 63-byte method', `${'X'.repeat(63)} /pot HTTP/1.1\r\n${h}\r\n`, 0, 501, 'method_not_implemented'],
  ['a 64-byte method', `${'X'.repeat(64)} /pot HTTP/1.1\r\n${h}\r\n`, 0, 400, 'bad_request'],
]

t.test('the catalogue code, from where the parser stopped', async (t) => {
  for (const [name, bytes, at, , code] of CASES) {
    t.equal(clientErrorCode({ code: 'HPE_INVALID_METHOD', rawPacket: Buffer.from(bytes, 'latin1'), bytesParsed: at }), code, name)
  }
})

t.test('on the wire: the answer, its access-log line and its count; the connection closed, nothing upstream', async (t) => {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const port = Number(new URL(gw.url).port)
  for (const [name, bytes, , status, code] of CASES) {
    const res = await converse(port, bytes, { waitForClose: true })
    t.equal(res.responses.length, 1, `${name}: one answer`)
    t.equal(res.responses[0]?.status, status, `${name}: ${status}`)
    t.equal((JSON.parse(res.responses[0]?.body.toString() || '{}') as { error?: string }).error, code, `${name}: ${code}`)
    t.ok(res.closed, `${name}: the connection closed`)
  }
  t.equal(u.requests.length, 0, 'nothing upstream')
  const lines = gw.accessLogs().filter((l) => l.requestId === undefined).map((l) => [l.status, l.error])
  t.strictSame(lines, CASES.map(([, , , status, code]) => [status, code]), 'one access-log line each, with its status')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_refused_requests_total', { code: '501', error: 'method_not_implemented' })], 3)
  t.equal(series[key('switchyard_refused_requests_total', { code: '400', error: 'bad_request' })], 3)
})
