// Graceful shutdown from outside: the real CLI under load with slow requests in flight gets SIGTERM; readiness
// fails at once, serving goes on for delayMs with Connection: close, the listener closes, the slow requests finish,
// the process exits 0 and every answer is in the access log. Also: a kept-alive connection after the close (served), a
// second signal, and a signal that comes right after the listening line.
import { join } from 'node:path'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startCli, writeConfig, type CliProcess } from '../helpers/cli-process.ts'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { Load, rate, tally, type LoadRecord } from '../helpers/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function upstream (t: Tap, name: string, delayMs = 0): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name })
  u.delayMs = delayMs
  t.teardown(() => u.close())
  return u
}

/** A CLI whose '/' goes to `fast` and '/slow' to `slow`, with the given shutdown plan. */
async function cliWith (t: Tap, fast: TestUpstream, slow: TestUpstream, shutdown: { delayMs: number; timeoutMs: number }): Promise<CliProcess> {
  const config: GatewayConfig = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown,
    pools: {
      fast: { targets: [fast.url] },
      // the per-try timeout (2 s by default) must not cut a 2 s answer
      slow: { targets: [slow.url], retry: { perTryTimeoutMs: 10_000 } },
    },
    routes: [{ path: '/', pool: 'fast' }, { path: '/slow', pool: 'slow' }],
  }
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, config)
  // main.ts installs its signal handlers before it listens (see the last test): a signal may follow at once
  return startCli(t, file)
}

/** Polls GET /readyz every 10 ms until stopped: when each poll started, and its status (0: no answer). */
function pollReadiness (adminUrl: string): { polls: Array<{ at: number; status: number }>; stop: () => Promise<void> } {
  const polls: Array<{ at: number; status: number }> = []
  let running = true
  const loop = (async () => {
    while (running) {
      const at = Date.now()
      try {
        const res = await fetch(`${adminUrl}/readyz`)
        await res.arrayBuffer()
        polls.push({ at, status: res.status })
      } catch {
        polls.push({ at, status: 0 })
      }
      await sleep(10)
    }
  })()
  return { polls, stop: async () => { running = false; await loop } }
}

const timeOf = (r: LogRecord | undefined): number => (r?.time as number | undefined) ?? NaN

t.test('SIGTERM under load with slow requests in flight: not ready at once, served through delayMs, slow requests finish, exit 0, every answer logged', async (t) => {
  const fast = await upstream(t, 'fast')
  const slow = await upstream(t, 'slow', 2000)
  const cli = await cliWith(t, fast, slow, { delayMs: 500, timeoutMs: 5000 })
  // runs until stopped after the exit (the duration is only a bound), however long a loaded host takes to get there
  const load = Load.start({ url: cli.url, concurrency: 4, durationMs: 30_000, pauseMs: 2 })
  t.teardown(() => load.stop())
  await waitFor(() => load.records.filter((r) => r.status === 200).length >= 4) // the load is being served
  const slowOnes = [0, 1, 2].map((i) => httpRequest(`${cli.url}/slow/${i}`).then(
    (res) => ({ status: res.status, at: Date.now() }),
    (err: NodeJS.ErrnoException) => ({ status: 0, error: err.code, at: Date.now() })))
  await waitFor(() => slow.hits === 3)
  const readiness = pollReadiness(cli.adminUrl)
  await waitFor(() => readiness.polls.some((p) => p.status === 200)) // one answer before the signal, however slow the host

  const signalledAt = Date.now()
  cli.kill('SIGTERM')
  const exit = await cli.exited
  await readiness.stop()
  const records = await load.stop()
  const slowResults = await Promise.all(slowOnes)

  t.same(exit, { code: 0, signal: null }, 'exit code 0')
  // the gateway's own records say when draining began and when the listener closed
  const drainAt = timeOf(cli.records.find((r) => typeof r.delayMs === 'number'))
  const closeAt = timeOf(cli.records.find((r) => r.level === 30 && typeof r.inFlight === 'number' && r.delayMs === undefined))
  // delayMs is 500; a timer counts from the loop's cached time and these are whole-ms wall-clock stamps, so the
  // close can read a few ms early (499 was seen)
  t.ok(drainAt - signalledAt < 450 && closeAt - drainAt >= 495, `draining began ${drainAt - signalledAt} ms after the signal, the listener closed ${closeAt - drainAt} ms later`)
  // how much later than delayMs the gateway closed: its loop, or the whole host, was stalled that long near the end
  // of the delay, and a request sent in that stall reached it no sooner than the close
  const lateMs = Math.max(0, closeAt - drainAt - 500)
  const beforeClose = closeAt - 100 - lateMs

  const afterDrain = readiness.polls.filter((p) => p.at > drainAt)
  // readiness turns before the drain's first record: any poll sent after it is refused, however slow the host
  t.equal(afterDrain[0]?.status, 503, '/readyz answered 503 at once')
  t.strictSame(afterDrain.filter((p) => p.status === 200), [], 'and never 200 again')
  t.ok(readiness.polls.some((p) => p.at < signalledAt && p.status === 200), 'it was 200 before')

  t.strictSame(slowResults.map((r) => r.status), [200, 200, 200], 'the slow requests in flight completed')
  t.ok(slowResults.every((r) => r.at > closeAt), 'after the listener had closed')

  // sent during delayMs, not in the last 100 ms before the close (the close's log line lags the close itself), nor
  // in a stall of the gateway's that made the close late
  const during = records.filter((r) => r.startedAt > drainAt && r.startedAt < beforeClose)
  // on a quiet machine the 4 clients get ~50 in; on a loaded one (load 9 on 2 cores) one was seen to get 1
  t.ok(during.length >= 1, `${during.length} requests served during delayMs`)
  t.strictSame(during.filter((r) => r.status !== 200 || r.connectionClose !== true).map(brief), [], 'each 200 with Connection: close')
  // well before the close nothing may fail; at the close and after it a refused or reset connection is expected
  const early = records.filter((r) => r.startedAt < beforeClose)
  t.strictSame(early.filter((r) => r.status !== 200).map(brief), [], 'no request sent before the close failed')
  const late = records.filter((r) => r.startedAt >= beforeClose)
  t.strictSame(late.filter((r) => !(r.status === 200 || r.error === 'ECONNREFUSED' || r.error === 'ECONNRESET')).map(brief), [],
    'around and after the close: answered, refused or reset, nothing else (no 503 shutting_down for a plain request)')
  t.ok(late.some((r) => r.error === 'ECONNREFUSED'), 'the listener was closed')
  t.comment(`${records.length} requests at ${rate(records).toFixed(0)} req/s: ${JSON.stringify(tally(records))}`)
  t.comment(`started in the last ${closeAt - beforeClose} ms before the close or later: ${JSON.stringify(tally(late))}`)
  const resetBeforeClose = records.filter((r) => r.startedAt < closeAt && r.error !== undefined && r.error !== 'ECONNREFUSED')
  // A connection still in the kernel's accept queue when the listener closes is reset by the kernel: one process
  // cannot save it (a handover with SO_REUSEPORT and tcp_migrate_req can). Requests older than 100 ms (plus the
  // close's lateness) are held to zero failures above; these last ones are reported.
  t.comment(`sent in the last moment before the close and reset: ${resetBeforeClose.length}`)

  const logged = new Map(cli.records.filter((r) => r.msg === 'request').map((r) => [r.requestId, r.status]))
  const answered = records.filter((r) => r.status !== undefined)
  t.strictSame(answered.filter((r) => logged.get(r.id) !== r.status).map(brief), [], `all ${answered.length} answered requests have an access-log line with their status`)
})

function brief (r: LoadRecord): string {
  return `${r.id} ${r.path} +${r.startedAt % 100000} ${r.status ?? ''} ${r.error ?? ''} ${r.errorCode ?? ''} close=${r.connectionClose}`
}

t.test('answers finished after shutdown began ask to close; a request on a connection idle since before, sent after the close, is served with Connection: close, and is logged', async (t) => {
  const fast = await upstream(t, 'fast')
  const slow = await upstream(t, 'slow', 600)
  const gw = await startGateway({
    shutdown: { delayMs: 150, timeoutMs: 5000 },
    pools: { fast: { targets: [fast.url] }, slow: { targets: [slow.url] } },
    routes: [{ path: '/', pool: 'fast' }, { path: '/slow', pool: 'slow' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  // connection A: a slow request in flight when shutdown begins; connection B: kept alive and idle
  const a = rawConnection(t, port)
  const b = rawConnection(t, port)
  b.socket.write('GET /first HTTP/1.1\r\nHost: gw\r\nX-Request-Id: idle-first\r\n\r\n')
  await waitFor(() => b.received().includes('"fast"'))
  t.notMatch(b.received().toLowerCase(), /\r\nconnection: close\r\n/, 'before shutdown: kept alive')
  b.reset()
  a.socket.write('GET /slow/first HTTP/1.1\r\nHost: gw\r\nX-Request-Id: slow-first\r\n\r\n')
  await waitFor(() => slow.hits === 1)

  const shutdown = gw.gateway.shutdown()
  await waitFor(() => gw.logs.some((l) => typeof l.inFlight === 'number' && l.delayMs === undefined), 2000) // listener closed
  b.socket.write('GET /second HTTP/1.1\r\nHost: gw\r\nX-Request-Id: idle-second\r\n\r\n')
  await b.closed
  t.match(b.received(), /^HTTP\/1\.1 200 /, 'served: its client could not know')
  t.match(b.received().toLowerCase(), /\r\nconnection: close\r\n/, 'with Connection: close')
  t.match(b.received(), /"fast"/, 'by the upstream')
  await a.closed
  t.match(a.received(), /^HTTP\/1\.1 200 /, 'the slow request in flight completed')
  t.match(a.received().toLowerCase(), /\r\nconnection: close\r\n/, 'and its answer, finished after shutdown began, asks the client to close')
  await shutdown
  t.match(gw.accessLogs().find((l) => l.requestId === 'idle-second'), { status: 200 }, 'an access-log line for it')
  t.match(gw.accessLogs().find((l) => l.requestId === 'slow-first'), { status: 200 })
})

t.test('a second SIGTERM during the drain exits 1 at once', async (t) => {
  const fast = await upstream(t, 'fast')
  const slow = await upstream(t, 'slow', 2000)
  const cli = await cliWith(t, fast, slow, { delayMs: 6000, timeoutMs: 8000 })
  cli.kill('SIGTERM')
  await cli.waitForRecord((r) => typeof r.delayMs === 'number')
  t.equal((await fetch(`${cli.adminUrl}/readyz`)).status, 503, 'draining')
  // past the 250 ms in which the same signal again is the same stop delivered twice (src/main.ts SAME_STOP_MS)
  await sleep(300)
  const second = Date.now()
  cli.kill('SIGTERM')
  const exit = await cli.exited
  const took = Date.now() - second
  t.same(exit, { code: 1, signal: null }, 'exit code 1')
  // far below the 6 s the delay had left; generous, since a loaded machine slows a process's exit
  t.ok(took < 3000, `exited ${took} ms after the second signal (the delay had 6 s left)`)
})

t.test('SIGTERM sent right after the listening line still shuts down gracefully', async (t) => {
  const fast = await upstream(t, 'fast')
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, { server: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, shutdown: { delayMs: 0, timeoutMs: 1000 }, pools: { fast: { targets: [fast.url] } }, routes: [{ path: '/', pool: 'fast' }] })
  const exits = []
  // the window is a few milliseconds wide: about two in five runs hit it
  for (let i = 0; i < 2; i++) {
    const cli = await startCli(t, file)
    cli.kill('SIGTERM')
    exits.push(await cli.exited)
  }
  t.strictSame(exits, Array.from({ length: 2 }, () => ({ code: 0, signal: null })), 'each exit is the graceful one (code 0), never death by the signal')
})
