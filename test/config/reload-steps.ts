// What the tests of a reload's steps share (reload-yields-after-load, reload-serves-io-after-load,
// reload-pause-after-long-step, reload-pause-each-long-step): small configs, a step that blocks the loop, and an
// exchange over loopback whose answer needs the loop twice.
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type t from 'tap'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/**
 * The pause the exchange tests give a reload between steps (its default is 20 ms): long enough for a loopback exchange
 * on a loaded host, where the suite runs several files in one process at once and four processes on two cores.
 */
export const GENEROUS_PAUSE_MS = 1000

/** A valid config of one pool of `targets` targets, different for each count. */
export const config = (targets: number): ResolvedConfig => validateConfig({
  pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } },
  routes: [{ path: '/', pool: 'p' }],
})

/**
 * Busy for `ms` of the thread's CPU time (so at least as long on the clock): a step that blocks the loop, as a large
 * config's validation, hash or compare does, however often a loaded host preempts it.
 */
export function block (ms: number): void {
  const cpuMs = (): number => { const { user, system } = process.threadCpuUsage(); return (user + system) / 1000 }
  const until = cpuMs() + ms
  while (cpuMs() < until) { /* the step's work */ }
}

/** A loopback server, and a function that sends it one request noting 'answered' in `order` once answered. */
export async function exchange (t: Tap, order: string[]): Promise<() => void> {
  const server: Server = createServer((_req, res) => { res.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  return () => {
    request({ port, host: '127.0.0.1', agent: false }, (res) => { res.resume(); res.on('end', () => order.push('answered')) }).end()
  }
}

/** The delays of the timers the reloader sets while `run` runs (other files' timers in the process are left out). */
export async function reloaderTimers (run: () => Promise<unknown>): Promise<(number | undefined)[]> {
  const original = globalThis.setTimeout
  const delays: (number | undefined)[] = []
  globalThis.setTimeout = ((callback: () => void, ms?: number) => {
    if (new Error().stack?.includes('reloader.ts') === true) delays.push(ms)
    return original(callback, ms)
  }) as typeof setTimeout
  try {
    await run()
  } finally {
    globalThis.setTimeout = original
  }
  return delays
}
