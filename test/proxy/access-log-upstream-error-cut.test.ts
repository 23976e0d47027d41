// The access log's upstreamError names the upstream's failure whenever the last attempt failed: an answer the
// upstream's reset cut short too (before, only an error answer said it), and never the gateway's own abort (an
// attempt's timeout said SWITCHYARD_ATTEMPT_ABORTED; its error upstream_timeout already says what happened).
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { request } from 'node:http'
import t from 'tap'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import { gateway, refusedUrl, type Tap } from './setup.ts'

/**
 * A raw HTTP upstream: /partial answers a head and part of its body, then waits (the test resets it); /hang never
 * answers.
 */
async function rawUpstream (t: Tap) {
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (data: Buffer) => {
      buffered += data.toString('latin1')
      if (!buffered.includes('\r\n\r\n')) return
      if (buffered.startsWith('GET /partial')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial')
      buffered = ''
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets }
}

/** A GET through the gateway; a response cut short resolves too (`complete` false). */
function send (url: string, requestId: string, onHead?: () => void) {
  return new Promise<{ status: number; complete: boolean }>((resolve, reject) => {
    const req = request(url, { headers: { 'x-request-id': requestId }, agent: false }, (res) => {
      res.resume()
      res.on('error', () => {})
      res.on('close', () => resolve({ status: res.statusCode!, complete: res.complete }))
      onHead?.()
    })
    req.on('error', reject)
    req.end()
  })
}

async function lineOf (gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId), 3000)
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

t.test('upstreamError for an answer cut short, a timeout and a refused connection', async (t) => {
  const up = await rawUpstream(t)
  const gw = await gateway(t, {
    pools: { raw: { targets: [up.url], timeouts: { requestMs: 300 } }, gone: { targets: [await refusedUrl(t)] } },
    routes: [{ path: '/gone', pool: 'gone' }, { path: '/', pool: 'raw' }],
  })

  // the reset once the answer's head has reached the client: it comes mid-body
  const cut = await send(`${gw.url}/partial`, 'cut', () => up.sockets.at(-1)!.resetAndDestroy())
  t.match(cut, { status: 200, complete: false })
  t.match(await lineOf(gw, 'cut'), { status: 200, error: 'upstream_unreachable', upstreamError: 'ECONNRESET' }, 'a reset mid-body is named')

  const timedOut = await send(`${gw.url}/hang`, 'timeout')
  t.equal(timedOut.status, 504)
  const timeoutLine = await lineOf(gw, 'timeout')
  t.match(timeoutLine, { status: 504, error: 'upstream_timeout' })
  t.notOk('upstreamError' in timeoutLine, "the gateway's own timeout is no upstream error")

  const refused = await send(`${gw.url}/gone/x`, 'refused')
  t.equal(refused.status, 502)
  t.match(await lineOf(gw, 'refused'), { status: 502, error: 'upstream_unreachable', upstreamError: 'ECONNREFUSED' })
})
