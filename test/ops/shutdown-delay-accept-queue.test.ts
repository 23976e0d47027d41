// A connection that reached the kernel during shutdown.delayMs must be served, even when the gateway's event loop was
// busy across the delay's end (a burst of work, a long collection, a starved host). Node runs a late timer before
// the poll phase that would accept it: a listener closed straight from the delay's timer had the kernel reset every
// connection still in its accept queue. The close now waits one turn (setVerdictTimeout), so they are accepted first.
// Deterministic: the test itself keeps the loop busy, from the moment the delay's timer is armed until the
// connection is seen in the listener's accept queue (/proc/net/tcp) and the delay has run out.
import { existsSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const DELAY_MS = 200
const TCP_TABLE = '/proc/net/tcp'
const LISTEN = '0A'

/** Connections waiting in the accept queue of the IPv4 listener on `port` (for a listener, rx_queue is that count). */
function acceptQueueLength (port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  for (const line of readFileSync(TCP_TABLE, 'utf8').split('\n').slice(1)) {
    const [, address, , state, queues] = line.trim().split(/\s+/)
    if (address?.endsWith(local) && state === LISTEN) return parseInt(queues!.split(':')[1]!, 16)
  }
  return 0
}

type Answer = { status: number; error?: string }

t.test('a connection queued during shutdown.delayMs, while the loop is busy past its end, is served', { skip: !existsSync(TCP_TABLE) && `needs ${TCP_TABLE} to see the accept queue` }, async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({
    shutdown: { delayMs: DELAY_MS, timeoutMs: 5000 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  let shutdown!: Promise<void>
  let answer!: Promise<Answer>
  let queued = 0
  let busyMs = 0
  // One synchronous stretch, from a check-phase callback as I/O work runs: no timer can fire and nothing is accepted
  // until it ends, and the next turn of the loop begins with the timers phase.
  await new Promise<void>((resolve) => setImmediate(() => {
    shutdown = gw.gateway.shutdown() // arms the delay's timer before returning
    const began = performance.now()
    answer = new Promise<Answer>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }))
      })
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code }))
      req.end()
    })
    // net issues the connect on the next tick: busy after it, until the kernel has queued the connection (the
    // handshake needs no help from this process) and the delay is over
    process.nextTick(() => {
      const giveUp = began + 10_000
      while ((queued = acceptQueueLength(port)) < 1 && performance.now() < giveUp);
      while (performance.now() < began + DELAY_MS + 50);
      busyMs = performance.now() - began
      resolve()
    })
  }))
  t.equal(queued, 1, 'the connection was in the accept queue before the delay ran out')
  t.ok(busyMs > DELAY_MS, `the loop was busy ${Math.round(busyMs)} ms, past the ${DELAY_MS} ms delay`)
  const result = await answer
  t.strictSame(result, { status: 200 }, 'served, not reset')
  await shutdown
})

// shutdown.delayMs 0 waits the same turn: a connection the kernel queued before the shutdown began (the signal came
// while the loop was busy) is accepted and served before the listener closes, not reset by its close.
t.test('with delayMs 0, a connection queued before the shutdown began is served', { skip: !existsSync(TCP_TABLE) && `needs ${TCP_TABLE} to see the accept queue` }, async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({
    shutdown: { delayMs: 0, timeoutMs: 5000 },
    pools: { p: { targets: [u.url] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)

  let shutdown!: Promise<void>
  let answer!: Promise<Answer>
  let queued = 0
  // one synchronous stretch from a check-phase callback: nothing is accepted until it ends
  await new Promise<void>((resolve) => setImmediate(() => {
    answer = new Promise<Answer>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }))
      })
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code }))
      req.end()
    })
    process.nextTick(() => {
      const giveUp = performance.now() + 10_000
      while ((queued = acceptQueueLength(port)) < 1 && performance.now() < giveUp);
      // the connection waits in the kernel's accept queue: the shutdown begins now (a SIGTERM handled at this point)
      shutdown = gw.gateway.shutdown()
      resolve()
    })
  }))
  t.equal(queued, 1, 'the connection was in the accept queue before the shutdown began')
  t.strictSame(await answer, { status: 200 }, 'served, not reset')
  await shutdown
})
