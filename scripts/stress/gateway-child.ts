// The gateway under stress, in its own process so its fds, heap and RSS are its own: `node gateway-child.ts
// '<config JSON>'`, forked with an IPC channel. Says { type: 'ready', url, adminUrl } once listening; answers
// { type: 'breaker' } with its breakers' own event counts, { type: 'memory' } with its heap and GCs,
// { type: 'loop' } with its event-loop delay since the last ask, { type: 'accepts' } with when each connection
// since the last ask was accepted, { type: 'retained' } with the heap left after a full collection forced here;
// exits when the channel closes.
// Started with --expose-gc for that one measurement only (the harness, never the product, forces it: the
// gateway itself runs no gc()). The other answers force nothing.
import type { Socket } from 'node:net'
import { PerformanceObserver, constants, monitorEventLoopDelay, type PerformanceEntry } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import CircuitBreaker from 'opossum'
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { machineNow } from './stats.ts'

// Every breaker's 'failure' (counted against the pool), 'success', 'reject' (refused while open) and 'open'
// events since start: the breaker's own count, not a guess from the metrics. The pool breakers are private, so
// the count is taken on the class they are all made from.
const breakerEvents: Record<string, number> = { failure: 0, success: 0, reject: 0, open: 0 }
const emit = CircuitBreaker.prototype.emit
CircuitBreaker.prototype.emit = function (this: CircuitBreaker, event: string | symbol, ...args: unknown[]): boolean {
  if (typeof event === 'string' && event in breakerEvents) breakerEvents[event]!++
  return emit.call(this, event, ...args)
}

// Collections V8 chose to run (none is forced here), and the heap right after the latest full one: the nearest
// thing to the live size that does not need a forced collection.
const gcs = { major: 0, minor: 0, heapAfterMajor: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gcs.major++
      // not process.memoryUsage(): it reads the RSS from /proc as well, in the measured process, after every full GC
      gcs.heapAfterMajor = getHeapStatistics().used_heap_size
    } else {
      gcs.minor++
    }
  }
}).observe({ entryTypes: ['gc'] })

// how late the gateway's own event loop ran, so a slow answer can be told from a starved process
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()

const config = validateConfig(JSON.parse(process.argv[2] ?? '{}'))
const silent = new Writable({ write (_chunk, _encoding, callback) { callback() } })
const gateway = buildGateway(config, { logStream: silent })
const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
const adminUrl = await gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
process.send!({ type: 'ready', url, adminUrl })

// When the gateway accepted each connection ([client port, machine clock ms]): the harness compares it with when
// the client saw its connection established, i.e. queued in the kernel for the gateway to accept.
let accepted: [port: number, at: number][] = []
gateway.app.server.on('connection', (socket: Socket) => { accepted.push([socket.remotePort ?? 0, machineNow()]) })

process.on('message', (message: { type: string }) => {
  if (message.type === 'breaker') process.send!({ type: 'breaker', events: { ...breakerEvents } })
  if (message.type === 'accepts') {
    process.send!({ type: 'accepts', accepted })
    accepted = []
  }
  if (message.type === 'loop') {
    process.send!({ type: 'loop', p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 })
    loop.reset()
  }
  if (message.type === 'retained') {
    // measurement, not a memory fix: what is still reachable once V8 has collected everything it can
    const gc = (globalThis as { gc?: (options?: { type: 'major'; execution: 'sync' }) => void }).gc
    if (gc === undefined) return void process.send!({ type: 'retained', heapUsed: -1 })
    gc({ type: 'major', execution: 'sync' })
    process.send!({ type: 'retained', heapUsed: process.memoryUsage().heapUsed })
  }
  if (message.type === 'memory') {
    // the old generation alone: the young one swings by its whole size between scavenges
    const oldUsed = getHeapSpaceStatistics().filter((s) => s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space').reduce((n, s) => n + s.space_used_size, 0)
    process.send!({ type: 'memory', heapUsed: process.memoryUsage().heapUsed, oldUsed, gcs: { ...gcs } })
  }
})
process.once('disconnect', () => { void gateway.close().finally(() => process.exit(0)) })
