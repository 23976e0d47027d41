// A request's access-log line names its client (clientIp): the address the gateway works out for X-Forwarded-For and
// `ip` hash keys, the peer's or, behind a trusted proxy, the client it names. Routed lines and those refused after
// the request was read had none (.review-r37b finding 6), so a flood of 404s or 499s could not be put to a client.
// Both ways the line is written (built by hand for the gateway's own logger, by pino for an embedder's) carry it, in
// the same place.
import { Writable } from 'node:stream'
import pino from 'pino'
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from './http.ts'
import { portOf, rawRequest } from './raw.ts'

const config = (u: TestUpstream, trustedProxies: string[] = []): GatewayConfig => ({
  server: { trustedProxies, maxUrlBytes: 256 },
  pools: { p: { targets: [u.url] } },
  routes: [{ path: '/api', pool: 'p' }],
})

interface Logged { gw: TestGateway; lines: () => LogRecord[] }

/** A gateway whose access-log lines come from its own logger (built by hand), or from an embedder's pino logger. */
async function start (t: Test, u: TestUpstream, own: boolean, trustedProxies?: string[]): Promise<Logged> {
  const records: LogRecord[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as LogRecord)
      cb()
    },
  })
  const gw = await startGateway(config(u, trustedProxies), { defaultMetrics: false, ...(own ? {} : { logger: pino({ level: 'info' }, stream) }) })
  t.teardown(() => gw.close())
  return { gw, lines: () => (own ? gw.logs : records).filter((l) => l.msg === 'request') }
}

async function lineOf (logged: Logged, requestId: string): Promise<LogRecord> {
  await waitFor(() => logged.lines().some((l) => l.requestId === requestId), 3000)
  return logged.lines().find((l) => l.requestId === requestId)!
}

/** The line's fields in order, without those of the logger itself (level, time, pid, hostname, service, msg). */
const requestFields = (line: LogRecord): string[] => Object.keys(line).filter((k) => !['level', 'time', 'pid', 'hostname', 'service', 'msg'].includes(k))

t.test('routed and refused lines carry the client address, in the same place whichever logger writes them', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const order: Record<string, string[][]> = {}
  for (const own of [true, false]) {
    const logged = await start(t, u, own)
    const routed = await httpRequest(`${logged.gw.url}/api/x`, { headers: { 'x-request-id': 'routed' } })
    t.equal(routed.status, 200)
    const missed = await httpRequest(`${logged.gw.url}/nope`, { headers: { 'x-request-id': 'no-route' } })
    t.equal(missed.status, 404)
    const lines = [await lineOf(logged, 'routed'), await lineOf(logged, 'no-route')]
    for (const line of lines) t.equal(line.clientIp, '127.0.0.1', `${own ? 'own' : 'pino'} ${line.requestId as string}: the peer's address`)
    t.match(lines[1], { status: 404, error: 'no_route' })
    order[String(own)] = lines.map(requestFields)
  }
  t.same(order.true, order.false, 'the same fields, in the same order')
  t.equal(order.true![0]![1], 'clientIp', 'after the request id')
})

t.test('behind a trusted proxy, the client its X-Forwarded-For names; an untrusted peer\'s header is not believed', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  for (const own of [true, false]) {
    const trusted = await start(t, u, own, ['127.0.0.1'])
    const xff = '198.51.100.9, 203.0.113.7'
    await httpRequest(`${trusted.gw.url}/api/x`, { headers: { 'x-request-id': 'behind', 'x-forwarded-for': xff } })
    t.equal((await lineOf(trusted, 'behind')).clientIp, '203.0.113.7', 'the nearest untrusted address')
    await httpRequest(`${trusted.gw.url}/nope`, { headers: { 'x-request-id': 'behind-404', 'x-forwarded-for': xff } })
    t.equal((await lineOf(trusted, 'behind-404')).clientIp, '203.0.113.7', 'a refusal after routing too')
    // refused before the front half reads it (too long): the same address
    const long = await rawRequest(portOf(trusted.gw.url), `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\nX-Request-Id: behind-414\r\nX-Forwarded-For: ${xff}\r\n\r\n`)
    t.equal(long.status, 414)
    t.match(await lineOf(trusted, 'behind-414'), { status: 414, error: 'uri_too_long', clientIp: '203.0.113.7' })
    // not an address: the peer's, never the header's text
    await httpRequest(`${trusted.gw.url}/api/x`, { headers: { 'x-request-id': 'junk', 'x-forwarded-for': '"},"admin":true' } })
    t.equal((await lineOf(trusted, 'junk')).clientIp, '127.0.0.1')

    const untrusted = await start(t, u, own)
    await httpRequest(`${untrusted.gw.url}/api/x`, { headers: { 'x-request-id': 'spoofed', 'x-forwarded-for': '203.0.113.7' } })
    t.equal((await lineOf(untrusted, 'spoofed')).clientIp, '127.0.0.1', 'the peer\'s own address')
  }
})

t.test('a request ended while it waited its pipelined turn names its client too', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  u.delayMs = 60_000
  const logged = await start(t, u, true)
  const c = rawConnection(t, portOf(logged.gw.url))
  await c.connected
  c.socket.write('GET /api/first HTTP/1.1\r\nHost: a\r\nX-Request-Id: first\r\n\r\nGET /api/second HTTP/1.1\r\nHost: a\r\nX-Request-Id: second\r\n\r\n')
  await waitFor(() => u.hits === 1)
  c.socket.destroy()
  t.match(await lineOf(logged, 'first'), { status: 499, clientIp: '127.0.0.1' })
  t.match(await lineOf(logged, 'second'), { status: 499, clientIp: '127.0.0.1' })
})
