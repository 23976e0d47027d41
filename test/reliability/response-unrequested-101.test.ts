// A 101 to a request that did not ask to upgrade is the upstream's bad answer (RFC 9110 §15.2.2): 502
// upstream_bad_response, not retried (docs/reliability.md). With Upgrade and Connection: upgrade fields undici
// reports it as a SocketError ('bad upgrade', UND_ERR_SOCKET), the code a dropped connection has, which was taken
// for a reset and retried.
import t from 'tap'
import { errors } from 'undici'
import { classifyError } from '../../src/resilience/classify.ts'
import { httpRequest, type ErrorBody } from '../proxy/http.ts'
import { gateway } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'

const ANSWERS = {
  'with Upgrade and Connection: upgrade': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n',
  'without them': 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
}

for (const [what, answer] of Object.entries(ANSWERS)) {
  t.test(`a 101 ${what} to a GET: 502 upstream_bad_response, not retried`, async (t) => {
    const u = await ScriptedUpstream.start((socket) => { socket.write(answer) })
    t.teardown(() => u.close())
    // the default retry policy: 3 attempts, GET retried on 'reset'
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const res = await httpRequest(`${gw.url}/x`)
    t.equal(res.status, 502)
    t.equal(res.json<ErrorBody>().error, 'upstream_bad_response')
    t.equal(u.requests, 1, 'one attempt')
  })
}

t.test("only undici's 'bad upgrade' socket error is a bad response; other socket errors stay resets", async (t) => {
  t.equal(classifyError(new errors.SocketError('bad upgrade')), 'bad-response')
  t.equal(classifyError(new errors.SocketError('other side closed')), 'reset')
  t.equal(classifyError(Object.assign(new Error('bad upgrade'), { code: 'ECONNRESET' })), 'reset')
})
