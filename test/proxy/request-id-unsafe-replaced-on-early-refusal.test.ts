// A client's X-Request-Id that is not a sane request id (characters outside [A-Za-z0-9._-], or longer than 128) is
// never echoed, even on a refusal before admission (414 here): the gateway answers with an id of its own. An id
// taken as it came would carry whatever the client chose into the answer's header, the JSON body and the access
// log (log forging, a megabyte of id per line).
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'

t.test('414 uri_too_long replaces an unsafe client id with a generated one', async (t) => {
  const u = await TestUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({ server: { maxUrlBytes: 256 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  for (const given of ['evil id"}', 'x'.repeat(129)]) {
    const res = await httpRequest(`${gw.url}/${'a'.repeat(300)}`, { headers: { 'x-request-id': given } })
    t.equal(res.status, 414)
    const id = res.headers['x-request-id']
    t.not(id, given, 'not the client\'s id')
    t.match(id, /^[A-Za-z0-9_-]{22}$/, 'a generated id')
    t.equal(res.json().requestId, id, 'the body names the same id')
  }
})
