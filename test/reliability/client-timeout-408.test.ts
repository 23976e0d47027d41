// A client that never finishes its headers within server.headersTimeoutMs is answered 408 Request Timeout with the
// code client_timeout (RFC 9110 §15.5.9). The other parser-refusal tests compare the status with the catalogue's own
// entry, so a catalogue that mapped client_timeout to another status would pass them: this one pins the number a
// client and a load balancer's retry policy read.
import t from 'tap'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { startGateway } from '../helpers/gateway.ts'
import { converse } from './wire.ts'

t.test('headers not complete within headersTimeoutMs: 408 client_timeout, connection closed', async (t) => {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await startGateway({
    server: { headersTimeoutMs: 300, requestTimeoutMs: 600 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  // one header line, then silence
  const res = await converse(Number(new URL(gw.url).port), 'GET / HTTP/1.1\r\nHost: a\r\n', { waitForClose: true, timeoutMs: 3000 })
  const answer = res.responses[0]
  t.equal(answer?.status, 408)
  t.equal((JSON.parse(answer?.body.toString() ?? '{}') as { error?: string }).error, 'client_timeout')
  t.ok(res.closed, 'the connection is closed')
  t.equal(u.requests.length, 0, 'nothing reached the upstream')
})
