// An upstream that sends 100 Continue to a request that did not ask for it (some servers do so for every POST, or
// every request): RFC 9110 §15.2 has a client read such 1xx answers and go on to the final one, but undici refuses
// them ('bad response', a SocketError with the code a dropped connection has) before the gateway sees a byte. The
// gateway cannot read the 200 that follows (docs/reliability.md), but the fault is the answer's, not the
// connection's: 502 upstream_bad_response after one attempt. Before, it was taken for a reset: upstream_unreachable,
// and a GET went to the upstream three times (the retry policy's attempts), each a failure to the breaker.
import t from 'tap'
import { errors } from 'undici'
import { classifyError } from '../../src/resilience/classify.ts'
import { gateway } from '../proxy/setup.ts'
import { type ErrorBody, httpRequest } from '../proxy/http.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

const UNEXPECTED_100 = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'

for (const method of ['GET', 'POST']) {
  t.test(`a 100 Continue to a ${method} that sent no Expect: 502 upstream_bad_response, one attempt`, async (t) => {
    const u = await ScriptedUpstream.start((socket) => { socket.write(UNEXPECTED_100) })
    t.teardown(() => u.close())
    // the default retry policy: 3 attempts, a GET retried on 'reset'
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const res = await httpRequest(`${gw.url}/x`, { method, ...(method === 'POST' ? { body: 'hi' } : {}) })
    t.equal(res.status, 502)
    t.equal(res.json<ErrorBody>().error, 'upstream_bad_response')
    t.equal(u.requests, 1, 'one attempt')
  })
}

t.test("undici's 'bad response' socket error is a bad response; a dropped connection's stays a reset", async (t) => {
  t.equal(classifyError(new errors.SocketError('bad response')), 'bad-response')
  t.equal(classifyError(new errors.SocketError('other side closed')), 'reset')
  t.equal(classifyError(Object.assign(new Error('bad response'), { code: 'ECONNRESET' })), 'reset')
})
