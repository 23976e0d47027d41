// A target's connections (src/upstream/connections.ts): each subtest is one behaviour, named as its file was.
import t from 'tap'
import type { Socket } from 'node:net'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'
import type { Dispatcher } from 'undici'
import { buildConnector } from 'undici'
import type { HasTeardown } from '../proxy/setup.ts'

// src/upstream/connections.ts configure(): a connection busy when the settings were replaced finishes what it carries,
// then closes; what waits in the queue goes to a new connection made under the new settings, not to the old one.
t.test('upstream-connections-busy-old-settings-closes-when-free', async (t) => {
  t.test('after configure(), the busy old connection closes once free and the queued request opens a new one', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    up.delayMs = 30
    const sockets: Socket[] = []
    up.server.on('connection', (s: Socket) => { sockets.push(s) })
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
    const first = get(pool, '/old-settings')
    const second = get(pool, '/queued')
    await arrived
    t.equal(pool.queued, 1)
    pool.configure({ connections: 1, keepAliveTimeout: 5_000 })
    t.equal(pool.queued, 1, 'the limit is still taken by the busy old connection')
    t.same([await first, await second], [200, 200])
    t.equal(sockets.length, 2, 'the queued request went over a new connection')
    t.equal(pool.clients, 1, 'the old connection was let go')
  })
})

// src/upstream/connections.ts: close() after destroy() has nothing to wait for and must not turn the destroyed
// connections back into merely closed ones: they stay destroyed, and later requests are still refused as destroyed.
t.test('upstream-connections-close-after-destroy-stays-destroyed', async (t) => {
  function refusal (pool: TargetConnections): string | undefined {
    let code: string | undefined
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {},
      onResponseError (_c, err) { code = (err as { code?: string }).code },
    }
    t.equal(pool.dispatch({ path: '/late', method: 'GET' }, handler), false)
    return code
  }

  t.test('destroy() then close(): still destroyed, requests refused UND_ERR_DESTROYED', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    await pool.destroy()
    await pool.close()
    t.equal(pool.destroyed, true)
    t.equal(pool.closed, true)
    t.equal(refusal(pool), 'UND_ERR_DESTROYED')
  })
})

// src/upstream/connections.ts close(): what is queued is still sent. Withdrawing one queued request while another
// still waits must not let close() go on: the one left is sent, answered, and only then does close() resolve.
t.test('upstream-connections-close-waits-whole-queue', async (t) => {
  interface Outcome { status?: number; error?: string; settled: boolean }

  function send (pool: TargetConnections, path: string): { outcome: Outcome, handler: Dispatcher.DispatchHandler } {
    const outcome: Outcome = { settled: false }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, status) { outcome.status = status },
      onResponseData () {},
      onResponseEnd () { outcome.settled = true },
      onResponseError (_c, err) { outcome.error = (err as { code?: string }).code ?? 'error'; outcome.settled = true },
    }
    pool.dispatch({ path, method: 'GET' }, handler)
    return { outcome, handler }
  }

  t.test('close() with two queued: withdrawing one still sends the other before close() resolves', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    up.delayMs = 30
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    const first = send(pool, '/first')
    const second = send(pool, '/second')
    const third = send(pool, '/third')
    t.equal(pool.queued, 2)
    const closing = pool.close()
    t.equal(pool.withdraw(third.handler), true)
    t.equal(pool.queued, 1, 'one still waits')
    await closing
    t.same([first.outcome.status, second.outcome.status], [200, 200], 'the one left in the queue was sent before close() resolved')
    t.same(up.requests.map((r) => r.url), ['/first', '/second'])
    t.equal(third.outcome.settled, false, 'the withdrawn one heard nothing')
  })
})

// src/upstream/connections.ts configure(): new settings (a reload) close the idle connections made under the old ones
// at once; the next request goes over a new connection made with the new settings, never an old idle one.
t.test('upstream-connections-configure-closes-idle', async (t) => {
  t.test('configure() closes an idle connection of the old settings; the next request opens a new one', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const sockets = new Set<Socket>()
    up.server.on('connection', (s: Socket) => { sockets.add(s) })
    const pool = new TargetConnections(up.url, { connections: 2, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    t.equal(await get(pool, '/old'), 200)
    // undici frees a connection one event-loop turn after its answer ended
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(pool.clients, 1, 'one idle kept-alive connection')
    pool.configure({ connections: 2, keepAliveTimeout: 5_000 })
    t.equal(pool.clients, 0, 'the idle connection of the replaced settings is let go at once')
    t.equal(await get(pool, '/new'), 200)
    t.equal(sockets.size, 2, 'the request after configure() went over a new connection')
    t.equal(pool.clients, 1)
  })
})

// src/upstream/connections.ts: close() waits for the queue to empty; destroy() fails what is queued, so a close()
// already waiting must then resolve too (a shutdown that escalates from close to destroy must not hang).
t.test('upstream-connections-destroy-ends-waiting-close', async (t) => {
  t.test('destroy() while close() waits for the queue: both resolve, the queued request fails', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    up.mode = 'hang'
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    const errors: string[] = []
    const handler = (): Dispatcher.DispatchHandler => ({
      onRequestStart () {}, onResponseStart () {}, onResponseData () {}, onResponseEnd () {},
      onResponseError (_c, err) { errors.push((err as { code?: string }).code ?? 'error') },
    })
    const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
    pool.dispatch({ path: '/hangs', method: 'GET' }, handler())
    pool.dispatch({ path: '/queued', method: 'GET' }, handler())
    await arrived
    let closed = false
    const closing = pool.close().then(() => { closed = true })
    await pool.destroy()
    t.same(errors.sort(), ['UND_ERR_DESTROYED', 'UND_ERR_DESTROYED'])
    // an upper bound only: close() has nothing left to wait for once destroy() resolved
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closing, new Promise((resolve) => { timer = setTimeout(resolve, 1000) })])
    clearTimeout(timer)
    t.equal(closed, true, 'the waiting close() resolved')
  })
})

// src/upstream/connections.ts close() and destroy(): each resolves once every connection has closed, including one
// configure() retired (idle under replaced settings) whose Client is still closing when it is called.
t.test('upstream-connections-ends-wait-for-retired', async (t) => {
  for (const end of ['close', 'destroy'] as const) {
    t.test(`${end}() right after configure() retired an idle connection waits for that connection to close`, async (t) => {
      const up = await TestUpstream.start()
      t.teardown(() => up.close())
      // the gateway side of each connection, to see when it has closed
      const open = new Set<Socket>()
      const base = buildConnector({})
      const connect: buildConnector.connector = (opts, cb) => base(opts, (err, socket) => {
        if (socket !== null) { open.add(socket as Socket); socket.once('close', () => open.delete(socket as Socket)) }
        const done = cb as (err: Error | null, socket: unknown) => void
        done(err, socket)
      })
      const pool = new TargetConnections(up.url, { connections: 2, keepAliveTimeout: 10_000, connect })
      t.teardown(() => pool.destroy())
      t.equal(await get(pool, '/a'), 200)
      await new Promise((resolve) => setImmediate(resolve)) // undici frees the connection a turn after the answer
      t.equal(open.size, 1)
      pool.configure({ connections: 2, keepAliveTimeout: 5_000, connect })
      t.equal(pool.clients, 0, 'the idle connection was retired')
      await pool[end]()
      t.equal(open.size, 0, `${end}() resolved only once the retired connection had closed`)
    })
  }
})

// src/upstream/connections.ts: a client whose connection could not be made is closed and let go (as undici's Pool does,
// nodejs/undici#3895), not kept as a free client without a connection; the next request makes a new one.
t.test('upstream-connections-refused-client-let-go', async (t) => {
  t.test('refused connections leave no client held; the target serves again once it listens', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const port = up.port
    await up.refuse()
    const pool = new TargetConnections(`http://127.0.0.1:${port}`, { connections: 2, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    t.same(await Promise.all([get(pool, '/a'), get(pool, '/b')]), ['ECONNREFUSED', 'ECONNREFUSED'])
    t.equal(pool.clients, 0, 'both failed clients were let go')
    await up.listen(port)
    t.equal(await get(pool, '/c'), 200)
    t.equal(pool.clients, 1)
  })
})

// src/upstream/connections.ts: a request undici refuses on the spot (invalid options) fails through its handler and
// dispatch() returns true; no 'drain' will ever come for it, so the connection slot it took must be free again at once,
// or the target loses a connection for good (with a limit of 1: every later request waits forever). The same for a
// queued request that configure() (a raised limit) hands to a new connection and undici refuses there.
t.test('upstream-connections-refused-on-the-spot-frees-slot', async (t) => {
  interface Outcome { status?: number; error?: string }

  function get (pool: TargetConnections, path: string, headers?: string[]): Promise<Outcome> {
    return new Promise((resolve) => {
      const outcome: Outcome = {}
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart () {},
        onResponseStart (_c, status) { outcome.status = status },
        onResponseData () {},
        onResponseEnd () { resolve(outcome) },
        onResponseError (_c, err) { outcome.error = (err as { code?: string }).code ?? 'error'; resolve(outcome) },
      }
      pool.dispatch({ path, method: 'GET', headers }, handler)
    })
  }

  t.test('a request refused on the spot (handler does not throw) leaves the only connection slot free', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    // undici refuses a Transfer-Encoding request header before it takes the request
    const bad = await get(pool, '/bad', ['transfer-encoding', 'chunked'])
    t.equal(bad.error, 'UND_ERR_INVALID_ARG', 'refused on the spot')
    t.equal(up.hits, 0)
    const next = get(pool, '/next')
    t.equal(pool.queued, 0, 'the next request takes the slot at once instead of waiting for a drain that never comes')
    if (pool.queued !== 0) return
    t.equal((await next).status, 200)
    t.equal(up.hits, 1)
  })

  t.test('a queued request refused on the spot when a raised limit starts it does not hold the new slot', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    up.mode = 'hang'
    const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
    t.teardown(() => pool.destroy())
    const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
    void get(pool, '/holds-the-only-connection')
    await arrived
    const bad = get(pool, '/bad', ['transfer-encoding', 'chunked'])
    t.equal(pool.queued, 1)
    pool.configure({ connections: 2, keepAliveTimeout: 10_000 })
    t.equal((await bad).error, 'UND_ERR_INVALID_ARG', 'started on the new slot and refused there')
    up.mode = 'answer'
    const next = get(pool, '/next')
    t.equal(pool.queued, 0, 'the second slot is free for the next request')
    if (pool.queued !== 0) return
    t.equal((await next).status, 200)
  })
})

// A target's connections (src/upstream/connections.ts), against a real upstream: never more than the limit,
// the rest queued first in first out, the most recently freed connection reused, a failed connection replaced,
// and close() and destroy() as undici's Pool has them.
t.test('upstream-connections', async (t) => {
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
})
