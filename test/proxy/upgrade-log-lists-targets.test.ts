// The access log's `targets` lists every target tried, in order, when there was more than one attempt (README), for
// a WebSocket handshake as for a request. Before, an upgrade's line had `attempts` and the last `target` only, so a
// handshake that went to another target after a connect failure, or to the standby, could not be told from one
// that went where it was first sent. Pinned for both kinds of second try: after a stale kept-alive connection (the
// same target again, on a new connection) and after a connect failure (the next target).
import { request } from 'node:http'
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import { portOf, rawHandshake } from './raw.ts'
import { gateway, refusedUrl, type Tap, upstream } from './setup.ts'
import { wsHandshake } from './ws-tunnel.ts'

function get (url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject).end()
  })
}

/** The handshake's access-log line, once the gateway wrote it (the client closes its tunnel first). */
async function handshakeLine (t: Tap, gw: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  const { response, socket } = await rawHandshake(portOf(gw.url), wsHandshake('/ws', requestId))
  t.teardown(() => socket.destroy())
  t.equal(response.status, 101, 'switched')
  socket.destroy()
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId))
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

const BACKOFF = { baseMs: 1, maxMs: 2 }

t.test('a handshake sent again after a stale kept-alive connection lists its target twice', async (t) => {
  const a = await expiringUpstream(t)
  const gw = await gateway(t, { pools: { p: { targets: [a.url], retry: { backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.strictSame(await Promise.all(Array.from({ length: 3 }, (_, i) => get(`${gw.url}/warm${i}`))), [200, 200, 200])
  a.expire()
  t.match(await handshakeLine(t, gw, 'ws-stale'), { upgrade: true, status: 101, attempts: 2, target: a.url, targets: [a.url, a.url] })
})

t.test('a handshake sent to the next target after a connect failure lists both, in order', async (t) => {
  const gone = await refusedUrl()
  const b = await upstream(t, 'b')
  // round-robin from the first target (test/helpers/gateway.ts): the refused one first
  const gw = await gateway(t, { pools: { p: { targets: [gone, b.url], retry: { backoff: BACKOFF } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.match(await handshakeLine(t, gw, 'ws-refused'), { upgrade: true, status: 101, attempts: 2, target: b.url, targets: [gone, b.url] })
})

t.test('a handshake that took one attempt has no targets list', async (t) => {
  const b = await upstream(t, 'b')
  const gw = await gateway(t, { pools: { p: { targets: [b.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const line = await handshakeLine(t, gw, 'ws-once')
  t.match(line, { upgrade: true, status: 101, attempts: 1, target: b.url })
  t.notOk('targets' in line, 'no targets')
})
