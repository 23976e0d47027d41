// Only WebSocket upgrades are tunnelled; another Upgrade (h2c) is an ordinary request without the hop-by-hop header.
import { once } from 'node:events'
import { request } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
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
t.test('pipelined behind a request with an Upgrade field', async (t) => {
  const up = await TestUpstream.start()
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await up.close() })
  const port = Number(new URL(gw.url).port)
  const statusLines = (raw: string): string[] | null => raw.match(/HTTP\/1\.1 \d{3} [^\r]*\r\n/g)

  t.test('the answer to a declined upgrade closes the connection, so pipelined requests behind it are not left waiting', async (t) => {
    const c = rawConnection(t, port)
    c.socket.write('GET /one HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\nConnection: Upgrade, keep-alive\r\n\r\nGET /two HTTP/1.1\r\nHost: gw.example\r\n\r\n')
    // the gateway ends the connection after its one answer (a hang here is the bug: the test times out)
    await c.closed
    t.same(statusLines(c.received()), ['HTTP/1.1 200 OK\r\n'], 'one answer: the upgrade request\'s')
    t.match(c.received(), /\r\nconnection: close\r\n/i, 'which closes the connection')
    t.match(c.received(), /"url":"\/one"/, 'it is /one\'s answer')

    // the same request alone: still answered, the connection still closes
    const again = rawConnection(t, port)
    again.socket.write('GET /three HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n')
    await again.closed
    t.match(again.received(), /^HTTP\/1\.1 200 OK\r\n/)
    t.match(again.received(), /"url":"\/three"/)
  })

  t.test('an Upgrade field that Connection does not name is no upgrade: the connection is kept', async (t) => {
    const c = rawConnection(t, port)
    c.socket.write('GET /one HTTP/1.1\r\nHost: gw.example\r\nUpgrade: h2c\r\n\r\nGET /two HTTP/1.1\r\nHost: gw.example\r\n\r\n')
    while (!c.received().includes('"url":"/two"')) await once(c.socket, 'data')
    t.same(statusLines(c.received()), ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n'], 'both answered')
    t.notMatch(c.received(), /\r\nconnection: close\r\n/i)
  })
})
