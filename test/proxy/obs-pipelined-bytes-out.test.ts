// bytesOut of pipelined requests is each line's own answer. A line is written at its response's 'close', after Node
// has given the connection to the next queued response (resOnFinish, at 'finish'); the gateway answers a 404 there
// and then, and its bytes were credited to the line before it (and the 404's line logged 0).
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { portOf, rawExchange } from './raw.ts'
import { gateway, upstream } from './setup.ts'

/** The wire size of each response in `bytes` (every one framed by Content-Length). */
function answerSizes (bytes: Buffer): number[] {
  const sizes: number[] = []
  let at = 0
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at) + 4
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(at, headEnd).toString('latin1'))?.[1])
    sizes.push(headEnd - at + length)
    at = headEnd + length
  }
  return sizes
}

t.test('four pipelined requests, a large answer among them: each line counts its own answer', async (t) => {
  const u = await upstream(t, 'u')
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/p', pool: 'p' }] }, { defaultMetrics: false })
  const ids = ['first-404', 'large', 'second-404', 'last']
  const requests = [
    'GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-Id: first-404\r\n\r\n',
    `GET /p/big?bytes=${1 << 20} HTTP/1.1\r\nHost: a\r\nX-Request-Id: large\r\n\r\n`,
    'GET /nowhere HTTP/1.1\r\nHost: a\r\nX-Request-Id: second-404\r\n\r\n',
    'GET /p/ok HTTP/1.1\r\nHost: a\r\nX-Request-Id: last\r\nConnection: close\r\n\r\n',
  ]
  const received = await rawExchange(portOf(gw.url), requests.join(''))
  const sizes = answerSizes(received)
  t.equal(sizes.length, 4, 'four answers')
  await waitFor(() => ids.every((id) => gw.accessLogs().some((l) => l.requestId === id)))
  const logged = ids.map((id) => gw.accessLogs().find((l) => l.requestId === id)!.bytesOut)
  t.same(logged, sizes, 'bytesOut, line by line, as on the wire')
})
