// Connections the public listener closes unserved are said and counted, never reset in silence (review "fds",
// finding 4): over server.maxConnections (Node's 'drop', as nginx's worker_connections or HAProxy's maxconn), and an
// accept the kernel refused (EMFILE: out of file descriptors), which Node emits on the server as an 'error' while it
// keeps listening. Before, no log line or counter said so, the limit did not exist, and an accept error, unhandled,
// was thrown and took the whole gateway down as a fatal error.
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { buildGateway } from '../../src/app.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { watchConnectionDrops } from '../../src/lifecycle/connection-drops.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { ManualClock } from '../helpers/clock.ts'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { rawConnection, type RawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import { Server } from 'node:net'
import type { Timer } from '../../src/runtime.ts'

const DROPPED = 'switchyard_connections_dropped_total'

async function scrape (admin: string): Promise<Record<string, number>> {
  const res = await fetch(`${admin}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return seriesOf(await res.text())
}

const dropLines = (logs: readonly LogRecord[], reason: string): LogRecord[] => logs.filter((l) => l.reason === reason)

/** A raw request on a connection the listener accepted: its answer's status line. */
async function statusLine (c: RawConnection): Promise<string> {
  c.reset()
  c.socket.write('GET /x HTTP/1.1\r\nHost: gw\r\n\r\n')
  await waitFor(() => c.received().includes('\r\n\r\n'))
  return c.received().split('\r\n')[0]!
}

t.test('server.maxConnections: connections over it are dropped, counted and logged once; the admin listener is not limited', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const base: GatewayConfig = { server: { maxConnections: 3 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let next = base
  const gw = await startGateway(base, { defaultMetrics: false, env: {}, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const port = Number(new URL(gw.url).port)

  // one by one, so the kernel's accept queue holds them in this order
  const conns: RawConnection[] = []
  for (let i = 0; i < 5; i++) {
    const c = rawConnection(t, port)
    await c.connected
    conns.push(c)
  }
  await waitFor(() => conns.filter((c) => c.isClosed()).length === 2)
  t.same(conns.map((c) => c.isClosed()), [false, false, false, true, true], 'the fourth and fifth are closed unserved')
  t.equal(await statusLine(conns[0]!), 'HTTP/1.1 200 OK', 'a connection within the limit is served')

  t.equal((await scrape(admin))[key(DROPPED, { reason: 'limit' })], 2, 'counted, by reason')
  // one line for the burst, at most a second after its first drop, with the count
  await waitFor(() => dropLines(gw.logs, 'limit').length > 0, 3000)
  const [line, ...more] = dropLines(gw.logs, 'limit')
  t.same(more, [], 'one line')
  t.equal(line!.dropped, 2)
  t.equal(line!.maxConnections, 3)
  t.equal(line!.level, 40, 'a warning')

  // the admin listener takes new connections while the public one is full: probes and operators get in
  for (const path of ['/readyz', '/healthz', '/status']) t.equal((await fetch(admin + path)).status, 200, `${path} on a new connection`)

  // a connection closed makes room for the next
  conns[1]!.socket.destroy()
  const server = gw.gateway.app.server
  await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_err, n) => resolve(n === 2))))
  const sixth = rawConnection(t, port)
  await sixth.connected
  t.equal(await statusLine(sixth), 'HTTP/1.1 200 OK', 'room again below the limit')

  // applied in place by a reload (not a restart-required setting): 0 takes the limit away
  next = { ...base, server: { maxConnections: 0 } }
  const reload = await fetch(`${admin}/reload`, { method: 'POST' })
  t.equal(reload.status, 200)
  t.strictSame(((await reload.json()) as { diff: { restartRequired: string[] } }).diff.restartRequired, [], 'nothing waits for a restart')
  t.equal(gw.gateway.app.server.maxConnections, Infinity, 'no limit')
  const more3 = [rawConnection(t, port), rawConnection(t, port), rawConnection(t, port)]
  for (const c of more3) t.equal(await statusLine(c), 'HTTP/1.1 200 OK', 'served beyond the old limit')
  t.equal((await scrape(admin))[key(DROPPED, { reason: 'limit' })], 2, 'nothing more dropped')
})

t.test('no limit by default; nothing dropped exports no drop series', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  t.equal(gw.gateway.config.server.maxConnections, 0)
  t.equal(gw.gateway.app.server.maxConnections, Infinity)
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.notOk(Object.keys(await scrape(admin)).some((k) => k.startsWith(DROPPED)))
})

t.test('server.maxConnections must be a whole number, 0 or more', async (t) => {
  for (const bad of [-1, 1.5, '10']) {
    t.throws(() => validateConfig({ server: { maxConnections: bad as number }, pools: { p: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/', pool: 'p' }] }), `${JSON.stringify(bad)} refused`)
  }
})

/** What Node emits on a listening server when accept() fails (lib/net.js onconnection: ErrnoException(err, 'accept')). */
function acceptError (code: string, errno: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`accept ${code}`), { code, errno, syscall: 'accept' })
}

t.test('accept errors (EMFILE, ENFILE): never fatal, counted, logged at most once a second with the count', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { clock, defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const server = gw.gateway.app.server
  const fatal: unknown[] = []
  const onUncaught = (err: unknown): void => { fatal.push(err) }
  process.on('uncaughtException', onUncaught)
  t.teardown(() => { process.off('uncaughtException', onUncaught) })

  // faking real exhaustion is flaky (libuv's accept-and-close trick hides most of it): the event Node emits instead
  for (let i = 0; i < 3; i++) t.doesNotThrow(() => server.emit('error', acceptError('EMFILE', -24)), 'not thrown: the listener goes on')
  t.equal((await scrape(admin))[key(DROPPED, { reason: 'accept_error' })], 3, 'each counted at once')
  t.same(dropLines(gw.logs, 'accept_error'), [], 'no line before the second is over')
  clock.advance(1000)
  let lines = dropLines(gw.logs, 'accept_error')
  t.equal(lines.length, 1, 'one line for the three')
  t.match(lines[0], { level: 50, dropped: 3, codes: { EMFILE: 3 }, msg: /accept failed on the public listener \(EMFILE\)/ })

  server.emit('error', acceptError('EMFILE', -24))
  server.emit('error', acceptError('ENFILE', -23))
  clock.advance(999)
  t.equal(dropLines(gw.logs, 'accept_error').length, 1, 'not again within the second')
  clock.advance(1)
  lines = dropLines(gw.logs, 'accept_error')
  t.equal(lines.length, 2)
  t.match(lines[1], { dropped: 2, codes: { EMFILE: 1, ENFILE: 1 } })
  clock.advance(5000)
  t.equal(dropLines(gw.logs, 'accept_error').length, 2, 'nothing new, nothing said')
  t.equal((await scrape(admin))[key(DROPPED, { reason: 'accept_error' })], 5)
  t.equal((await scrape(admin))[key(DROPPED, { reason: 'limit' })], undefined, 'another reason')

  t.same(fatal, [], 'no uncaught exception')
  t.ok(server.listening, 'still listening')
  t.equal(gw.logs.filter((l) => /fatal/.test(l.msg)).length, 0)
  const res = await fetch(`${gw.url}/x`)
  t.equal(res.status, 200, 'a new connection is served')
  await res.arrayBuffer()
})

t.test('a line still pending when the listener closes is written out', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { clock, defaultMetrics: false })
  gw.gateway.app.server.emit('error', acceptError('ENFILE', -23))
  await gw.close()
  t.match(dropLines(gw.logs, 'accept_error'), [{ dropped: 1, codes: { ENFILE: 1 } }])
  t.equal(clock.pendingTimers, 0, 'no timer left behind')
})

t.test('a listen error is still the listen\'s: refused to its caller, not taken for an accept error', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config: GatewayConfig = { pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  const first = await startGateway(config, { defaultMetrics: false })
  t.teardown(() => first.close())
  const port = Number(new URL(first.url).port)
  const logs: string[] = []
  const logStream = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb() } })
  const second = buildGateway(validateConfig(config), { logStream, defaultMetrics: false })
  t.teardown(() => second.close())
  await t.rejects(second.listen({ host: '127.0.0.1', port }), { code: 'EADDRINUSE' })
  t.notMatch(logs.join(''), /accept_error/)
})

t.test('an accept error on the admin listener is said (listener: admin), never thrown, and counts no drop of the public one', async (t) => {
  const clock = new ManualClock()
  const lines: LogRecord[] = []
  const logger = pino({ level: 'info' }, new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as LogRecord); cb() } }))
  const server = createServer()
  watchConnectionDrops(server, logger, undefined, clock, 'admin')
  t.doesNotThrow(() => server.emit('error', acceptError('EMFILE', -24)))
  clock.advance(1000)
  t.match(lines, [{ level: 50, listener: 'admin', reason: 'accept_error', dropped: 1, msg: /accept failed on the admin listener \(EMFILE\)/ }])
  t.throws(() => server.emit('error', Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen' })), 'any other error is as fatal as it was')
})

// The line comes up to a second after the drops: it names the limit that dropped them, not one a reload set since
// (before: `server.maxConnections (Infinity) reached`, `maxConnections: null`, for connections a limit of 1 dropped).
t.test('the drop line names the limit in force at the drop, whatever a reload set since', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const clock = new ManualClock()
  const base: GatewayConfig = { server: { maxConnections: 1 }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }
  let next = base
  const gw = await startGateway(base, { clock, defaultMetrics: false, load: async () => validateConfig({ log: { level: 'info' }, ...next }) })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  const first = rawConnection(t, port)
  await first.connected
  const second = rawConnection(t, port)
  await second.connected
  await waitFor(() => second.isClosed())
  next = { ...base, server: { maxConnections: 0 } }
  t.equal((await gw.gateway.reload()).result, 'success')
  clock.advance(1000)
  t.match(dropLines(gw.logs, 'limit'), [{ dropped: 1, maxConnections: 1, msg: /server\.maxConnections \(1\) reached/ }])
})

// watchConnectionDrops on a bare net.Server, with a manual clock: one window per second whatever the drops inside it
// (a window is opened by its first drop, never re-armed by later ones), nothing said for nothing dropped, the line's
// timer never holds the process open, and only accept() errors are taken as drops.
t.test('connection-drops', async (t) => {
  function setup (): { server: Server; clock: ManualClock; lines: Record<string, unknown>[]; unrefs: () => number } {
    const lines: Record<string, unknown>[] = []
    const logger = pino(new Writable({
      write (chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
        cb()
      },
    }))
    const clock = new ManualClock()
    let unrefs = 0
    const setTimeout = clock.setTimeout.bind(clock)
    clock.setTimeout = (callback: () => void, ms: number): Timer => {
      const timer = setTimeout(callback, ms)
      const unref = timer.unref.bind(timer)
      timer.unref = () => { unrefs++; return unref() }
      return timer
    }
    const server = new Server()
    watchConnectionDrops(server, logger, undefined, clock)
    return { server, clock, lines, unrefs: () => unrefs }
  }

  const dropped = (lines: Record<string, unknown>[]): unknown[] => lines.filter((l) => l.reason === 'limit').map((l) => l.dropped)

  t.test('drops within a window do not re-arm it: a drop just after a line waits a whole second for its own', async (t) => {
    const { server, clock, lines } = setup()
    server.emit('drop')
    clock.advance(100)
    server.emit('drop')
    clock.advance(100)
    server.emit('drop')
    clock.advance(800)
    t.same(dropped(lines), [3], 'one line at the end of the first drop\'s second')
    clock.advance(50)
    server.emit('drop')
    clock.advance(200)
    t.same(dropped(lines), [3], 'no second line 250 ms after the first')
    clock.advance(800)
    t.same(dropped(lines), [3, 1], 'the next a second after the drop that opened its window')
    t.equal(clock.pendingTimers, 0, 'no timer left armed')
  })

  t.test('a listener that closes with nothing dropped says nothing', async (t) => {
    const { server, clock, lines } = setup()
    server.emit('drop')
    clock.advance(1000)
    t.same(dropped(lines), [1])
    server.emit('close')
    t.same(dropped(lines), [1], 'no line for zero drops')
    t.equal(lines.length, 1)
  })

  t.test('the pending line\'s timer is unref\'d: it never holds the process open', async (t) => {
    const { server, unrefs } = setup()
    server.emit('drop')
    t.equal(unrefs(), 1)
  })

  t.test('an error of another syscall than accept() is still thrown (nobody else listening)', async (t) => {
    const { server, lines } = setup()
    const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' })
    t.throws(() => server.emit('error', err), err)
    t.throws(() => server.emit('error', new Error('no syscall at all')), { message: 'no syscall at all' })
    t.same(lines, [], 'and not said as a drop')
  })
})
