// The admin listener asked in asterisk-form (`OPTIONS * HTTP/1.1`, RFC 9112 §3.2.4): find-my-way routes the target
// '*' as '/', so OPTIONS * listed the dashboard page's methods, GET * served the page and PUT * was 405. The target
// names no path: 400 bad_request for every method, as the proxy listener answers it.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { converse } from '../reliability/wire.ts'

t.test('an asterisk-form target is 400 bad_request on the admin listener, whatever the method', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ pools: { pay: { targets: [u.url] } }, routes: [{ path: '/', pool: 'pay' }] }, { defaultMetrics: false, env: {} })
  t.teardown(() => gw.close())
  const port = Number(new URL(await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })).port)
  // (HEAD goes the same way as GET; its answer has no body for this reader to frame)
  for (const method of ['OPTIONS', 'GET', 'PUT', 'POST', 'DELETE']) {
    const res = await converse(port, `${method} * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, { waitForClose: true })
    const answer = res.responses[0]
    t.equal(answer?.status, 400, `${method} *`)
    t.equal(answer?.headers.allow, undefined, `${method} *: no Allow`)
    t.equal((JSON.parse(answer?.body.toString() ?? '{}') as { error?: string }).error, 'bad_request', `${method} *: the catalogue code`)
  }
  // the root path itself is untouched
  const root = await converse(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { waitForClose: true })
  t.equal(root.responses[0]?.status, 200)
})
