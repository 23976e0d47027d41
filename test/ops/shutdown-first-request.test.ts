// Graceful shutdown and connections accepted just before the listener closed (in a handover, the last ones the old
// process took): their first request, sent after the close, is served with Connection: close even when nothing
// else is in flight; a connection that never sends one is closed after the grace, and the shutdown then completes.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a connection accepted before the close sends its first request after it: served, not reset', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({
    shutdown: { delayMs: 50, timeoutMs: 5000 },
    pools: { u: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'u' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  const late = rawConnection(t, port)
  const silent = rawConnection(t, port)
  await Promise.all([late.connected, silent.connected])
  // accepted by the gateway's process, not only by the kernel, before shutdown begins
  await sleep(100)

  const began = Date.now()
  const shutdown = gw.gateway.shutdown()
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'), 2000)
  // nothing is in flight now: the drain must still wait for the connections accepted a moment ago
  await sleep(100)
  late.socket.write('GET /first HTTP/1.1\r\nHost: gw\r\nX-Request-Id: late-first\r\n\r\n')
  await late.closed
  t.equal(late.error(), undefined, 'not reset')
  t.match(late.received(), /^HTTP\/1\.1 200 /, 'its first request is served')
  t.match(late.received().toLowerCase(), /\r\nconnection: close\r\n/, 'and asks the client to close')
  t.equal(u.hits, 1, 'the upstream saw it')

  await shutdown
  const took = Date.now() - began
  await silent.closed
  t.equal(silent.received(), '', 'the connection that never sent a request got nothing')
  // the grace is 1 s from the close; a loaded machine may add to it
  t.ok(took >= 1000 && took < 4000, `the drain waited for the grace, then completed (${took} ms)`)
  t.match(gw.accessLogs().find((l) => l.requestId === 'late-first'), { status: 200 }, 'logged')
})
