// An HTTP/1.1 request without Host (RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to
// any HTTP/1.1 request message that lacks a Host header field"). Node's parser used to answer it itself
// (requireHostHeader): a bare 400 with no JSON body, no request id, no access-log line and no count. It is the front
// half's refusal now, as every other malformed request's: the catalogue's 400 bad_request, closing the connection.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { converse, jsonErrorBody } from './wire.ts'

t.test("an HTTP/1.1 request without Host is the gateway's JSON 400, logged and counted", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const conversation = await converse(Number(new URL(gw.url).port), 'GET /a HTTP/1.1\r\nX-Request-Id: no-host-1\r\n\r\n', { waitForClose: true })
  const answer = conversation.responses[0]
  t.equal(answer?.status, 400)
  t.strictSame(jsonErrorBody(answer!.body), { error: 'bad_request', message: 'The request is malformed', requestId: 'no-host-1' })
  t.equal(answer?.headers['x-request-id'], 'no-host-1')
  t.ok(conversation.closed, 'the connection is closed')
  t.match(gw.accessLogs(), [{ status: 400, error: 'bad_request', requestId: 'no-host-1', method: 'GET', path: '/a' }], 'one access-log line')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_refused_requests_total', { code: '400', error: 'bad_request' })], 1, 'counted as a refusal')
  t.equal(u.requests.length, 0, 'not forwarded')
})
