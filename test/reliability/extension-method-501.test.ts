// A request whose method is a well-formed token Node's parser does not know (BREW, VERSION-CONTROL, MKREDIRECTREF,
// lower-case get: methods are case-sensitive) is refused by the parser before there is a request. It was answered
// 400 bad_request, as if it were malformed; RFC 9110 §9.1 and §15.6.2 have a method the server does not implement
// answered 501 (nginx and HAProxy forward such methods; the gateway cannot, Node's parser never hands it over).
// What is not a token (G@T, a TLS handshake sent to the plain port) stays 400. Either way the connection closes:
// the parser cannot go on after its error, and nothing reaches the upstream.
import t from 'tap'
import { clientErrorCode } from '../../src/proxy/client-error.ts'
import { gateway } from '../proxy/setup.ts'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { converse } from './wire.ts'

const h = 'Host: a\r\n'

t.test('the catalogue code of an unknown method, from where the parser stopped', async (t) => {
  const packet = (text: string): Buffer => Buffer.from(text, 'latin1')
  const behind = `GET /a HTTP/1.1\r\n${h}\r\n`
  const cases: [string, Buffer | undefined, number | undefined, string][] = [
    ['BREW', packet(`BREW /pot HTTP/1.1\r\n${h}\r\n`), 1, 'method_not_implemented'],
    ['lower-case get', packet(`get / HTTP/1.1\r\n${h}\r\n`), 0, 'method_not_implemented'],
    ['MKREDIRECTREF', packet('MKREDIRECTREF / HTTP/1.1\r\n\r\n'), 2, 'method_not_implemented'],
    // (where Node's parser stops: at the first byte no method it knows has there)
    ['behind a request in the same read', packet(`${behind}BREW /p HTTP/1.1\r\n${h}\r\n`), behind.length + 1, 'method_not_implemented'],
    ['garbage behind a request in the same read', packet(`${behind}G@T /p HTTP/1.1\r\n${h}\r\n`), behind.length + 1, 'bad_request'],
    ['behind empty lines', packet(`\r\n\r\nBREW /p HTTP/1.1\r\n${h}\r\n`), 5, 'method_not_implemented'],
    ['not a token', packet(`G@T / HTTP/1.1\r\n${h}\r\n`), 1, 'bad_request'],
    ['a TLS handshake', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 0, 'bad_request'],
    ['a method cut before its space', packet('BR'), 1, 'bad_request'],
    ['no packet', undefined, undefined, 'bad_request'],
  ]
  for (const [name, rawPacket, bytesParsed, code] of cases) t.equal(clientErrorCode({ code: 'HPE_INVALID_METHOD', rawPacket, bytesParsed }), code, name)
})

for (const method of ['BREW', 'VERSION-CONTROL', 'get']) {
  t.test(`${method}: 501 method_not_implemented, the connection closed, nothing upstream`, async (t) => {
    const u = await CountingUpstream.start()
    t.teardown(() => u.close())
    const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
    const res = await converse(Number(new URL(gw.url).port), `${method} /pot HTTP/1.1\r\n${h}\r\n`, { waitForClose: true })
    t.equal(res.responses[0]?.status, 501)
    t.equal((JSON.parse(res.responses[0]?.body.toString() ?? '{}') as { error?: string }).error, 'method_not_implemented')
    t.ok(res.closed, 'the connection closed')
    t.equal(u.requests.length, 0)
  })
}

t.test('a method that is not a token: still 400 bad_request', async (t) => {
  const u = await CountingUpstream.start()
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const res = await converse(Number(new URL(gw.url).port), `G@T /pot HTTP/1.1\r\n${h}\r\n`, { waitForClose: true })
  t.equal(res.responses[0]?.status, 400)
  t.ok(res.closed, 'the connection closed')
  t.equal(u.requests.length, 0)
})
