// A TLS failure on an open upstream connection (a record the gateway cannot decrypt: a corrupting middlebox, a broken
// upstream TLS stack) ends that connection at once. Node emits the TLS socket's 'error' without destroying it, and
// undici fails a request only at the connection's 'close': before, a POST waiting for its answer got 504 once
// requestMs ran out, an answer cut mid-body ended only after idleMs, and a kept-alive connection that failed while
// idle stayed in the pool for the next request to fail on (502 EPROTO, never sent to the upstream).
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { request } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls'
import t, { type Test } from 'tap'
import { CertificateMaker, type Certificate } from '../helpers/certificates.ts'
import { waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import { gateway } from '../proxy/setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const ca = certs.ca('ca')
const leaf = certs.leaf('upstream', ca, 'IP:127.0.0.1')
const context = createSecureContext({ key: leaf.key, cert: leaf.cert })

/** An application-data record whose MAC cannot check out: OpenSSL's bad record MAC on the reading side. */
const BAD_RECORD = Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0xab)])
const TLS_FAILURE = 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC'

type Answer = 'ok' | 'bad-record' | 'partial'

/**
 * An HTTPS upstream over raw TCP sockets, so that bytes can be written under its TLS layer. Per request it answers
 * 200 'ok', a bad record instead of an answer, or the head and part of a body (the test writes the bad record later).
 */
async function tlsUpstream (t: Test, answer: (path: string) => Answer) {
  const raws: Socket[] = []
  const paths: string[] = []
  const server = createServer((raw) => {
    raws.push(raw)
    raw.on('error', () => {})
    const tls = new TLSSocket(raw, { isServer: true, secureContext: context as SecureContext })
    tls.on('error', () => {})
    let buffered = ''
    tls.on('data', (data: Buffer) => {
      buffered += data.toString('latin1')
      const headEnd = buffered.indexOf('\r\n\r\n')
      if (headEnd < 0) return
      const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? 0)
      if (buffered.length < headEnd + 4 + length) return
      const path = buffered.split(' ', 2)[1]!
      buffered = ''
      paths.push(path)
      const how = answer(path)
      if (how === 'bad-record') raw.write(BAD_RECORD)
      else if (how === 'partial') tls.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial')
      else tls.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const raw of raws) raw.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, raws, paths }
}

/** requestMs and idleMs long enough for any answer here, short enough that waiting for them fails the test soon. */
async function gatewayTo (t: Test, targets: string[], trusted: Certificate): Promise<TestGateway> {
  return await gateway(t, {
    pools: { s: { targets, tls: { ca: trusted.cert }, timeouts: { requestMs: 3000, idleMs: 3000 } } },
    routes: [{ path: '/', pool: 's' }],
  })
}

async function lineOf (gw: TestGateway, requestId: string): Promise<LogRecord> {
  await waitFor(() => gw.accessLogs().some((l) => l.requestId === requestId), 6000)
  return gw.accessLogs().find((l) => l.requestId === requestId)!
}

/** A request through the gateway; a response cut short resolves too (`complete` false). */
function send (url: string, requestId: string, options: { method?: string; body?: string; onHead?: () => void } = {}) {
  return new Promise<{ status: number; complete: boolean; body: string }>((resolve, reject) => {
    const headers: Record<string, string> = { 'x-request-id': requestId }
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body))
    const req = request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('error', () => {})
      res.on('close', () => resolve({ status: res.statusCode!, complete: res.complete, body }))
      options.onHead?.()
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Whether `socket` closes within `ms` (the gateway let go of the connection); false, not a hang, if it does not. */
async function closesWithin (socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return true
  const timer = new AbortController()
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)))
  const result = await Promise.race([closed, delay(ms, false, { signal: timer.signal }).catch(() => false)])
  timer.abort()
  return result
}

t.test('a TLS failure after a POST was written: 502 at once, naming the TLS error, not retried', async (t) => {
  // two targets that both fail this way: a retry would reach the second
  const first = await tlsUpstream(t, () => 'bad-record')
  const second = await tlsUpstream(t, () => 'bad-record')
  const gw = await gatewayTo(t, [first.url, second.url], ca)
  const res = await send(`${gw.url}/post`, 'post', { method: 'POST', body: 'hello' })
  t.equal(res.status, 502, 'the connection failed: not a timeout (504)')
  t.equal(JSON.parse(res.body).error, 'upstream_unreachable')
  const line = await lineOf(gw, 'post')
  t.match(line, { status: 502, error: 'upstream_unreachable', upstreamError: TLS_FAILURE, attempts: 1 })
  t.equal(first.paths.length + second.paths.length, 1, 'a POST the upstream may have taken is not sent again')
})

t.test('a kept-alive connection that fails while idle is let go: the next POST goes on a new one', async (t) => {
  const up = await tlsUpstream(t, () => 'ok')
  const gw = await gatewayTo(t, [up.url], ca)
  t.equal((await send(`${gw.url}/warm`, 'warm')).status, 200)
  t.equal(up.raws.length, 1)
  const idle = up.raws[0]!
  idle.write(BAD_RECORD)
  t.ok(await closesWithin(idle, 3000), 'the gateway closed the failed connection')
  const res = await send(`${gw.url}/next`, 'next', { method: 'POST', body: 'hello' })
  t.equal(res.status, 200, 'not sent on the failed connection')
  t.match(await lineOf(gw, 'next'), { status: 200, attempts: 1 })
  t.equal(up.raws.length, 2, 'on a new connection')
  t.same(up.paths, ['/warm', '/next'])
})

t.test('a TLS failure mid-body cuts the answer at once, naming the TLS error', async (t) => {
  const up = await tlsUpstream(t, () => 'partial')
  const gw = await gatewayTo(t, [up.url], ca)
  // the bad record once the answer's head has reached the client: the failure comes mid-body
  const res = await send(`${gw.url}/mid`, 'mid', { onHead: () => up.raws[0]!.write(BAD_RECORD) })
  t.equal(res.status, 200)
  t.equal(res.complete, false, 'the client sees the answer cut short')
  t.match(await lineOf(gw, 'mid'), { status: 200, error: 'upstream_unreachable', upstreamError: TLS_FAILURE })
})
