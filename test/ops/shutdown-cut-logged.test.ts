// Requests still in flight when shutdown.timeoutMs runs out are cut by the gateway, not abandoned by their clients:
// each is logged and counted as 503 shutdown_cut (or with its answer's status when the answer had begun), never as
// 499 with aborted: true. Before, the cut looked like a client abort in the access log and in requests_total, which
// hid the gateway's own doing from whoever reads either. The gateway runs on a manual clock: the timeout ends when
// the test says.
import { createServer, request, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

const TIMEOUT_MS = 1000

t.test('requests cut by the shutdown timeout are logged and counted as the gateway\'s cut, not client aborts', async (t) => {
  // '/hang' never gets an answer; '/stream' gets its head and a first piece of body, then nothing
  const held = new Set<ServerResponse>()
  const upstream = createServer((req, res) => {
    held.add(res)
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('partial')
    }
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const clock = new ManualClock()
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: TIMEOUT_MS },
    pools: { u: { targets: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`], retry: { perTryTimeoutMs: 60_000 } } },
    routes: [{ path: '/', pool: 'u' }],
  }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())

  const hang = httpRequest(`${gw.url}/hang`).then(() => 'answered', () => 'cut')
  let streamed = ''
  const stream = new Promise<string>((resolve) => {
    const req = request(`${gw.url}/stream`, { agent: false }, (res) => {
      res.on('data', (d: Buffer) => { streamed += d.toString() })
      res.on('end', () => resolve('ended'))
      res.on('error', () => resolve('cut'))
    })
    req.on('error', () => resolve('cut'))
    req.end()
  })
  await waitFor(() => held.size === 2 && streamed === 'partial')

  const done = gw.gateway.shutdown()
  clock.advance(0) // shutdown.delayMs 0
  await waitFor(() => gw.logs.some((l) => l.msg === 'listener closed, finishing requests in flight'))
  clock.advance(TIMEOUT_MS)
  await done
  t.equal(await hang, 'cut')
  t.equal(await stream, 'cut')

  const line = (path: string) => gw.accessLogs().find((l) => l.path === path)
  t.match(line('/hang'), { status: 503, error: 'shutdown_cut' }, 'no answer had begun: 503 shutdown_cut')
  t.equal(line('/hang')!.aborted, undefined, 'not a client that left')
  t.match(line('/stream'), { status: 200, error: 'shutdown_cut' }, 'its answer had begun: its status, cut by the shutdown')
  t.equal(line('/stream')!.aborted, undefined)

  const series = seriesOf(await gw.gateway.metrics!.render())
  const codes = Object.entries(series).filter(([k]) => k.startsWith('switchyard_requests_total{')).map(([k, v]) => `${/code="(\d+)"/.exec(k)![1]}:${v}`).sort()
  t.same(codes, ['200:1', '503:1'], 'requests_total counts the cut as 503 (and the begun answer as its status), no 499')
})
