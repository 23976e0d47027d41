// Only WebSocket upgrades are tunnelled; another Upgrade (h2c) is an ordinary request without the hop-by-hop header.
import { once } from 'node:events'
import { request } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream, type Echo } from '../helpers/upstream.ts'

t.test('an h2c upgrade request is proxied as plain HTTP/1.1', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await up.close() })
  const { status, echo } = await new Promise<{ status: number; echo: Echo }>((resolve, reject) => {
    request({ host: '127.0.0.1', port: new URL(gw.url).port, path: '/h2c', headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, echo: JSON.parse(body) as Echo }))
    }).once('error', reject).end()
  })
  t.equal(status, 200)
  t.equal(echo.url, '/h2c')
  t.equal(echo.headers.upgrade, undefined, 'Upgrade is hop-by-hop')
  t.equal(echo.headers['http2-settings'], undefined, 'and so is every header Connection names')
})

// Node's parser stops reading at a request it took for an upgrade (Connection: upgrade with an Upgrade field), and
// when the upgrade is declined the rest of that read is dropped: a request pipelined behind it is never answered.
t.test('the answer to a declined upgrade closes the connection, so pipelined requests behind it are not left waiting', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await up.close() })
  const socket = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.write('GET /one HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\nConnection: Upgrade, keep-alive\r\n\r\nGET /two HTTP/1.1\r\nHost: gw.example\r\n\r\n')
  let raw = ''
  socket.setEncoding('latin1').on('data', (d: string) => { raw += d })
  // the gateway ends the connection after its one answer (a hang here is the bug: the test times out)
  await once(socket, 'end')
  t.same(raw.match(/HTTP\/1\.1 \d{3} [^\r]*\r\n/g), ['HTTP/1.1 200 OK\r\n'], 'one answer: the upgrade request\'s')
  t.match(raw, /\r\nconnection: close\r\n/i, 'which closes the connection')
  t.match(raw, /"url":"\/one"/, 'it is /one\'s answer')

  // the same request alone, then another on its connection: still answered, the connection still closes
  const again = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => again.destroy())
  again.write('GET /three HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n')
  let second = ''
  again.setEncoding('latin1').on('data', (d: string) => { second += d })
  await once(again, 'end')
  t.match(second, /^HTTP\/1\.1 200 OK\r\n/)
  t.match(second, /"url":"\/three"/)
})

t.test('a request with an Upgrade field that Connection does not name is no upgrade: its connection is kept', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await up.close() })
  const socket = connect(Number(new URL(gw.url).port), '127.0.0.1')
  t.teardown(() => socket.destroy())
  socket.write('GET /one HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\n\r\nGET /two HTTP/1.1\r\nHost: gw.example\r\n\r\n')
  let raw = ''
  socket.setEncoding('latin1').on('data', (d: string) => { raw += d })
  while (!raw.includes('"url":"/two"')) await once(socket, 'data')
  t.same(raw.match(/HTTP\/1\.1 \d{3} [^\r]*\r\n/g), ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n'], 'both answered')
  t.notMatch(raw, /\r\nconnection: close\r\n/i)
})
