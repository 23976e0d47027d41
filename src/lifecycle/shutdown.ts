// Graceful shutdown for a Kubernetes pod (or a handover on one machine): readiness fails at once, serving goes on
// for delayMs so endpoints stop sending traffic, then the listener closes and in-flight requests get timeoutMs.
import type { Server } from 'node:http'
import { Server as NetServer } from 'node:net'
import type { Logger } from 'pino'
import type { ProxyHandler } from '../proxy/forward.ts'
import type { TunnelSet } from '../proxy/tunnels.ts'
import { setVerdictTimeout, type Clock, type Timer } from '../runtime.ts'

/**
 * How long after the listener closed an idle connection is kept open: one accepted just before the close may take
 * this long to send its first request, a kept-alive one its next (both are served, with Connection: close).
 */
const IDLE_GRACE_MS = 1000

export interface ShutdownPlan {
  delayMs: number
  timeoutMs: number
}

export interface ShutdownParts {
  server: Server
  proxy: ProxyHandler
  /** WebSocket sockets: an open tunnel is waited for like a request in flight; all are closed at the end. */
  tunnels: TunnelSet
  clock: Clock
  logger: Logger
  /** Called first: /readyz turns 503. */
  beginDrain: () => void
}

/** Resolves once every in-flight request and open tunnel has finished or timeoutMs has passed (then connections are cut). */
export async function drainAndClose (parts: ShutdownParts, plan: ShutdownPlan): Promise<{ cut: number }> {
  const { server, proxy, tunnels, clock, logger } = parts
  const inFlight = (): number => proxy.active + tunnels.open
  parts.beginDrain()
  // 1. still serving, every answer with Connection: close, while load balancers take this pod out
  proxy.setPhase('draining')
  logger.info({ delayMs: plan.delayMs, timeoutMs: plan.timeoutMs, inFlight: inFlight() }, 'shutting down: not ready, still serving')
  // one turn after the timer (setVerdictTimeout): a timer late because this process stalled runs before the poll
  // phase that accepts the connections the kernel queued meanwhile, and closing the listener then resets them
  await sleep(clock, plan.delayMs)
  // 2. no new connections; a request that still arrives on an open connection is served, with Connection: close
  // (its client could not know). net's close stops accepting without http's immediate closeIdleConnections(),
  // which would reset connections accepted a moment ago whose first request is not read yet, and kept-alive ones
  // whose client, slow or stalled, had no answer since the drain began: they get a grace to send it.
  proxy.setPhase('closed')
  const allClosed = new Promise<void>((resolve) => { NetServer.prototype.close.call(server, () => resolve()) })
  logger.info({ inFlight: inFlight() }, 'listener closed, finishing requests in flight')
  // 3. in-flight requests and open WebSocket tunnels (the server counts neither among its connections once
  // upgraded), and those first requests, get timeoutMs. Done when nothing is in flight and either
  // every connection has closed or the grace is over (then the connections left are idle, and are closed).
  // The idle connections are closed one turn after the grace's timer: a timer late because this process stalled
  // runs before the poll phase that reads a request already waiting in a socket, and closing that connection now
  // would reset a request that came in time (see setVerdictTimeout). Read, it makes its connection busy, not idle.
  let graceTimer: Timer | undefined
  const graceOver = new Promise<void>((resolve) => {
    graceTimer = setVerdictTimeout(clock, () => { server.closeIdleConnections(); resolve() }, Math.min(IDLE_GRACE_MS, plan.timeoutMs))
  })
  let deadline: Timer | undefined
  const timedOut = new Promise<void>((resolve) => { deadline = clock.setTimeout(resolve, plan.timeoutMs) })
  await Promise.race([Promise.race([allClosed, graceOver]).then(() => Promise.all([proxy.idle(), tunnels.idle()])), timedOut])
  clock.clearTimeout(graceTimer)
  clock.clearTimeout(deadline)
  // judged by what is left, not by which timer won: both may fall due in one turn
  const cut = inFlight()
  if (cut > 0) logger.warn({ inFlight: cut, tunnels: tunnels.open }, 'shutdown timeout: cutting the requests still in flight')
  // said before the cut: the requests it ends are logged and counted as the gateway's (503 shutdown_cut), not as
  // clients that left (499)
  proxy.setPhase('cutting')
  server.closeAllConnections()
  // tunnels (both sides: a tunnel closes its upstream end with its client's) and handshakes still waiting for a 101
  tunnels.destroyAll()
  // their sockets close a turn later, and each tunnel's access-log line (error: shutdown_cut) is written then: the
  // process must not exit first (the CLI exits once this resolves)
  if (tunnels.open > 0) await Promise.race([tunnels.idle(), new Promise<void>((resolve) => { setTimeout(resolve, TUNNELS_CLOSE_MS).unref() })])
  return { cut }
}

/** How long the cut waits for destroyed tunnels' sockets to close (they close within a turn or two). */
const TUNNELS_CLOSE_MS = 1000

/** Resolves one turn of the event loop after `ms`: connections and requests already waiting are taken in first. */
function sleep (clock: Clock, ms: number): Promise<void> {
  // delayMs 0 too: what the kernel queued before the signal is accepted before the listener closes
  if (ms <= 0) return new Promise((resolve) => { setImmediate(resolve) })
  return new Promise((resolve) => { setVerdictTimeout(clock, resolve, ms) })
}
