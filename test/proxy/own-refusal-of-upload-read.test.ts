// The gateway's own answer to an upload it will not read (413 body_too_large for a Content-Length over the route's
// maxBodyBytes, 404 no_route) closes the connection: the rest of the body is read and dropped first, as after an
// upstream's early answer, so the client reads the answer. Before, Node closed the connection with the client's
// bytes unread, Linux reset it, and a node:http client got EPIPE instead of its 413 or 404 (11 uploads in 12; review
// r37c; nginx's lingering_close). (src/proxy/forward.ts #sendError: dropBodyAtClose.)
import { request } from 'node:http'
import t from 'tap'
import { join } from 'node:path'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const SIZE = 4 * 1024 * 1024

function upload (url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-length': SIZE } }, (res) => {
      res.resume()
      res.on('end', () => resolve(`answer ${res.statusCode}`))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`))
    req.end(Buffer.alloc(SIZE, 'a'))
  })
}

t.test('a 413 and a 404 to a 4 MiB upload are read by the client', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  // the CLI in a process of its own, as a client meets it (in the test's process the race went the other way)
  const file = join(t.testdir(), 'gateway.json')
  writeConfig(file, { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/a', pool: 'p', maxBodyBytes: 1000 }] })
  const gw = await startCli(t, file, { env: { SWITCHYARD_NODE_FLAGS: 'off' } })
  for (const [path, status] of [['/a/upload', 413], ['/elsewhere', 404]] as const) {
    const outcomes: string[] = []
    for (let i = 0; i < 4; i++) outcomes.push(await upload(`${gw.url.replace(/\/$/, '')}${path}`))
    t.same(outcomes, Array(4).fill(`answer ${status}`), `${path}: ${status} each time`)
  }
  t.equal(u.hits, 0, 'nothing reached the upstream')
})
