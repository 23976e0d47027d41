// Active health checks at three edges a review found:
// - a healthCheck.path undici cannot send (a space, non-ASCII) was accepted at load: every probe failed locally
//   (UND_ERR_INVALID_ARG), every target went unhealthy and the pool answered 503; a '#' went on the wire. Refused now;
// - the kept-alive probe connection closed by the upstream while idle raced the next probe, a false "unhealthy"
//   verdict at unhealthyThreshold 1: a probe reset on a reused connection goes again at once on a new one;
// - a malformed probe answer was said as "target unhealthy (error)": named as the access log names it.
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { problemsOf } from '../config/problems.ts'
import { rawUpstream } from '../helpers/raw-upstream.ts'

const config = (path: string): unknown => ({ pools: { p: { targets: ['http://a:1'], healthCheck: { path } } }, routes: [{ path: '/', pool: 'p' }] })

t.test('a probe path no request can carry is refused at load', async (t) => {
  for (const path of ['/health check', '/健康', '/santé', '/health#frag', '/a%2', '/a%zz', '/a\tb']) {
    t.match(problemsOf(config(path)), [/^pools\.p\.healthCheck\.path: must be a path/], JSON.stringify(path))
  }
  // visible ASCII RFC 3986 leaves out is sent as written, as the gateway forwards a client's (a review found these
  // refused by the first version of the rule)
  for (const path of ['/health', '/health?full=1&x=%20', '/a/b;v=1', "/~user/(x)*+,=:@!$'", '/sant%C3%A9', '/health?fields[]=status', '/h?checks=db|cache', '/h?q={x}', '/a"b']) {
    t.same(problemsOf(config(path)), [], `${path} passes`)
  }
})

t.test('a probe reset on its kept-alive connection goes again on a new one: no false verdict', async (t) => {
  // each connection answers its first probe and resets the next, as an upstream closing it while idle would
  const { url } = await rawUpstream(t, (socket, nth) => {
    if (nth > 1) return void socket.resetAndDestroy()
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
  })
  const gw = await startGateway({
    // a timeout long enough for a loaded host (at 40 ms, two clean-clone runs saw a probe time out), and half of it
    // above the stale window (200 ms): the reset, not a slow answer, is what this case is about
    pools: { p: { targets: [url], healthCheck: { intervalMs: 500, timeoutMs: 500, jitter: 0, unhealthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await new Promise((resolve) => setTimeout(resolve, 2600)) // about five probes, each on a reused connection first
  t.same(gw.logs.filter((l) => /target unhealthy/.test(l.msg)).map((l) => l.msg), [], 'never marked unhealthy')
  t.equal(gw.gateway.status().pools.p!.targets[0]!.state, 'healthy')
})

t.test('a malformed probe answer is named as the access log names it', async (t) => {
  const { url } = await rawUpstream(t, (socket) => { socket.end('HTTP/1.1 2OO OK\r\n\r\n') })
  // a timeout the malformed answer always beats, on a loaded host too (40 ms timed out first once in a full suite)
  const gw = await startGateway({
    pools: { p: { targets: [url], healthCheck: { intervalMs: 1000, timeoutMs: 900, unhealthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.logs.some((l) => /target unhealthy/.test(l.msg)))
  t.equal(gw.logs.find((l) => /target unhealthy/.test(l.msg))!.msg, 'target unhealthy (HTTPParserError)')
})

// Only a reset that comes at once is the race of an idle-closed connection: one after the target held the probe a while
// is its answer, and the probe is not sent again with a fresh timeout (one probe lasted about twice timeoutMs).
t.test('a probe reset late on its kept-alive connection is not sent again', async (t) => {
  const arrivals: number[] = []
  const resets: number[] = []
  const { url } = await rawUpstream(t, (socket, nth) => {
    arrivals.push(performance.now())
    if (nth === 1) return void socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    setTimeout(() => { resets.push(performance.now()); socket.resetAndDestroy() }, 250)
  })
  const gw = await startGateway({
    pools: { p: { targets: [url], healthCheck: { intervalMs: 400, timeoutMs: 400, jitter: 0, healthyThreshold: 1, unhealthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => resets.length >= 1 && gw.logs.some((l) => /target unhealthy/.test(l.msg)), 5000)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const resentAtOnce = resets.filter((r) => arrivals.some((a) => a > r && a - r < 50))
  t.same(resentAtOnce, [], 'no probe sent again right after a late reset')
})
