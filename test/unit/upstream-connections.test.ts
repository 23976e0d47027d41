// A target's connections (src/upstream/connections.ts), against a real upstream: never more than the limit,
// the rest queued first in first out, the most recently freed connection reused, a failed connection replaced,
// and close() and destroy() as undici's Pool has them.
import t from 'tap'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { HasTeardown } from '../proxy/setup.ts'

interface Outcome { status?: number; error?: string; body: string }

/** Dispatches one GET; resolves with its status and body, or its error code. */
function get (pool: TargetConnections, path: string, onDispatched?: (more: boolean) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { body: '' }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, status) { outcome.status = status },
      onResponseData (_c, chunk) { outcome.body += chunk.toString() },
      onResponseEnd () { resolve(outcome) },
      onResponseError (_c, err) { outcome.error = (err as { code?: string }).code ?? err.message; resolve(outcome) },
    }
    const more = pool.dispatch({ path, method: 'GET' }, handler)
    onDispatched?.(more)
  })
}

async function upstream (t: HasTeardown): Promise<{ up: TestUpstream, sockets: Set<Socket>, peak: () => number }> {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const sockets = new Set<Socket>()
  let inFlight = 0
  let peak = 0
  up.server.on('connection', (s: Socket) => { sockets.add(s) })
  up.server.on('request', (_req, res) => {
    peak = Math.max(peak, ++inFlight)
    res.once('finish', () => { inFlight-- })
  })
  return { up, sockets, peak: () => peak }
}

function connections (t: HasTeardown, url: string, max: number): TargetConnections {
  const pool = new TargetConnections(url, { connections: max, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  return pool
}

t.test('never more connections than the limit; the rest wait, and are sent first in first out', async (t) => {
  const { up, sockets, peak } = await upstream(t)
  up.delayMs = 30
  const pool = connections(t, up.url, 2)
  const returned: boolean[] = []
  const order: string[] = []
  const outcomes = Array.from({ length: 6 }, (_, i) => get(pool, `/echo/${i}`, (more) => returned.push(more)).then((o) => { order.push(String(i)); return o }))
  t.same(returned, [true, false, false, false, false, false], 'false once the last connection is taken, and while queueing')
  t.equal(pool.queued, 4)
  const done = await Promise.all(outcomes)
  t.same(done.map((o) => o.status), Array(6).fill(200))
  t.same(up.requests.map((r) => r.url), ['/echo/0', '/echo/1', '/echo/2', '/echo/3', '/echo/4', '/echo/5'], 'sent in the order dispatched')
  t.equal(peak(), 2)
  t.equal(sockets.size, 2)
  t.equal(pool.queued, 0)
  t.equal(pool.connected, 2)
})

t.test('one request at a time reuses one connection: the most recently freed is taken first', async (t) => {
  const { up, sockets } = await upstream(t)
  const pool = connections(t, up.url, 8)
  // undici frees a connection one event-loop turn after its answer ended (client-h1: a server may still close it)
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  for (let i = 0; i < 10; i++) {
    t.equal((await get(pool, `/seq/${i}`)).status, 200)
    await turn()
  }
  t.equal(sockets.size, 1)
  // two at once need a second connection; then one of the two serves alone again
  await Promise.all([get(pool, '/a'), get(pool, '/b')])
  await turn()
  for (let i = 0; i < 5; i++) {
    await get(pool, `/again/${i}`)
    await turn()
  }
  t.equal(sockets.size, 2)
})

t.test('withdraw(): a request still queued leaves the queue and never reaches the upstream; one on a connection stays', async (t) => {
  const { up, sockets } = await upstream(t)
  up.delayMs = 30
  const pool = connections(t, up.url, 1)
  const handlers: Dispatcher.DispatchHandler[] = []
  const outcomes: Promise<Outcome>[] = []
  const settled: string[] = []
  for (const path of ['/first', '/second', '/third', '/fourth']) {
    outcomes.push(new Promise((resolve) => {
      const outcome: Outcome = { body: '' }
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart () {},
        onResponseStart (_c, status) { outcome.status = status },
        onResponseData () {},
        onResponseEnd () { settled.push(path); resolve(outcome) },
        onResponseError (_c, err) { settled.push(path); outcome.error = err.message; resolve(outcome) },
      }
      handlers.push(handler)
      pool.dispatch({ path, method: 'GET' }, handler)
    }))
  }
  t.equal(pool.queued, 3)
  t.equal(pool.withdraw(handlers[0]!), false, 'the first has the connection')
  t.equal(pool.withdraw(handlers[2]!), true)
  t.equal(pool.withdraw(handlers[2]!), false, 'only once')
  t.equal(pool.queued, 2)
  t.equal(pool.withdraw(handlers[1]!), true)
  t.equal(pool.queued, 1)
  await Promise.all([outcomes[0], outcomes[3]])
  t.same(up.requests.map((r) => r.url), ['/first', '/fourth'], 'the withdrawn never reached the upstream')
  t.same(settled, ['/first', '/fourth'], 'and their handlers heard nothing more')
  t.equal(sockets.size, 1, 'no connection was spent on them')
  t.equal(pool.queued, 0)
})

t.test('close() waits for the queue; withdrawing the last one waiting lets it finish', async (t) => {
  const { up } = await upstream(t)
  up.mode = 'hang'
  const pool = connections(t, up.url, 1)
  const handler: Dispatcher.DispatchHandler = { onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {}, onResponseError () {} }
  void get(pool, '/hangs')
  pool.dispatch({ path: '/queued', method: 'GET' }, handler)
  let closed = false
  const closing = pool.close().then(() => { closed = true })
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(closed, false, 'a request still waits')
  t.equal(pool.withdraw(handler), true)
  // the one in flight holds the connection until it is cut: close() then ends
  up.mode = 'answer'
  await up.refuse()
  await closing
  t.equal(closed, true)
})

t.test('requests that keep timing out behind a held connection leave the queue without growing it', async (t) => {
  const { up } = await upstream(t)
  up.mode = 'hang'
  const pool = connections(t, up.url, 1)
  void get(pool, '/holds-the-connection')
  const waits: Dispatcher.DispatchHandler = { onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {}, onResponseError () {} }
  pool.dispatch({ path: '/waits', method: 'GET' }, waits) // stays at the front of the queue throughout
  let largest = 0
  let withdrawn = 0
  for (let i = 0; i < 20_000; i++) {
    const handler: Dispatcher.DispatchHandler = { onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {}, onResponseError () {} }
    pool.dispatch({ path: `/times-out/${i}`, method: 'GET' }, handler)
    if (pool.withdraw(handler)) withdrawn++
    largest = Math.max(largest, pool.queueFootprint)
  }
  t.equal(withdrawn, 20_000)
  t.equal(pool.queued, 1)
  t.ok(largest <= 40, `the queue held at most ${largest} slots for one waiting`)
})

t.test('a handler that throws while undici refuses its request on the spot does not take the connection with it', async (t) => {
  const { up } = await upstream(t)
  const pool = connections(t, up.url, 1)
  const throws: Dispatcher.DispatchHandler = {
    onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {},
    onResponseError () { throw new Error('a handler bug') },
  }
  // undici refuses a Transfer-Encoding request header (invalid options) before it takes the request
  t.throws(() => pool.dispatch({ path: '/bad', method: 'GET', headers: ['transfer-encoding', 'chunked'] }, throws))
  let timer: NodeJS.Timeout | undefined
  const never = new Promise<Outcome>((resolve) => { timer = setTimeout(() => resolve({ error: 'never answered', body: '' }), 2000) })
  const next = await Promise.race([get(pool, '/next'), never])
  clearTimeout(timer)
  t.same({ status: next.status, error: next.error }, { status: 200, error: undefined }, 'the only connection still serves')
})

t.test('a connection that cannot be made fails its request and is replaced: nothing leaks, queued requests move on', async (t) => {
  const { up } = await upstream(t)
  const port = up.port
  await up.refuse()
  const pool = connections(t, `http://127.0.0.1:${port}`, 2)
  // more than the limit at once: two connect and fail, the queued ones go to new connections, which fail too
  const failed = await Promise.all(Array.from({ length: 5 }, (_, i) => get(pool, `/down/${i}`)))
  t.same(failed.map((o) => o.error), Array(5).fill('ECONNREFUSED'))
  t.equal(pool.queued, 0)
  await up.listen(port)
  const ok = await Promise.all(Array.from({ length: 4 }, (_, i) => get(pool, `/up/${i}`)))
  t.same(ok.map((o) => o.status), Array(4).fill(200), 'every slot came back')
})

t.test('close() after a connection failed resolves: the failed connection was closed already', async (t) => {
  const { up } = await upstream(t)
  const port = up.port
  await up.refuse()
  const pool = connections(t, `http://127.0.0.1:${port}`, 2)
  t.equal((await get(pool, '/down')).error, 'ECONNREFUSED')
  await t.resolves(pool.close())
})

t.test('close(): what is queued is still sent, then it resolves; later requests are refused UND_ERR_CLOSED', async (t) => {
  const { up } = await upstream(t)
  up.delayMs = 20
  const pool = connections(t, up.url, 1)
  const outcomes = Promise.all([get(pool, '/1'), get(pool, '/2'), get(pool, '/3')])
  t.equal(pool.queued, 2)
  const closed = pool.close()
  t.equal(pool.closed, true)
  t.equal((await get(pool, '/late')).error, 'UND_ERR_CLOSED')
  t.same((await outcomes).map((o) => o.status), [200, 200, 200])
  await closed
  t.equal(pool.connected, 0)
  t.same(up.requests.map((r) => r.url), ['/1', '/2', '/3'])
})

t.test('destroy(): what is queued fails UND_ERR_DESTROYED, what is in flight is cut, later requests are refused', async (t) => {
  const { up } = await upstream(t)
  up.mode = 'hang'
  const pool = connections(t, up.url, 1)
  const inFlight = get(pool, '/hangs')
  const queued = get(pool, '/queued')
  await t.resolves(new Promise<void>((resolve) => up.server.once('request', () => resolve())))
  await pool.destroy()
  t.equal(pool.destroyed, true)
  t.equal((await queued).error, 'UND_ERR_DESTROYED')
  t.equal((await inFlight).error, 'UND_ERR_DESTROYED')
  t.equal((await get(pool, '/late')).error, 'UND_ERR_DESTROYED')
  await t.resolves(pool.close(), 'close() after destroy() has nothing to wait for')
})
