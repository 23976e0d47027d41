import t from 'tap'
import { parseResponses } from '../../bench/http-responses.ts'

const fixed = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello'
const chunked = 'HTTP/1.1 502 Bad Gateway\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'

t.test('responses framed by Content-Length and by chunks are counted whole', async (t) => {
  const r = parseResponses(Buffer.from(fixed + chunked + fixed))
  t.same(r.statuses, [200, 502, 200])
  t.equal(r.rest.length, 0)
})

t.test('a response cut anywhere is not counted until the rest arrives', async (t) => {
  const all = fixed + chunked
  for (let cut = 1; cut < all.length; cut++) {
    const first = parseResponses(Buffer.from(all.slice(0, cut)))
    const second = parseResponses(Buffer.concat([first.rest, Buffer.from(all.slice(cut))]))
    t.same([...first.statuses, ...second.statuses], [200, 502], `cut at ${cut}`)
    t.equal(second.rest.length, 0)
  }
})

t.test('trailers after the last chunk belong to the response', async (t) => {
  const r = parseResponses(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nx-t: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'))
  t.same(r.statuses, [200, 204])
  t.equal(r.rest.length, 0)
})

t.test('bytes that are not a response, or a body only the close could end, are refused', async (t) => {
  t.throws(() => parseResponses(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')))
  t.throws(() => parseResponses(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody')))
})
