// Only WebSocket upgrades are tunnelled; another Upgrade (h2c) is an ordinary request without the hop-by-hop header.
import { request } from 'node:http'
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
