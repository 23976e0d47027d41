// The load driver's handle on the gateway child: start it, read its fds and RSS from /proc/<pid>, its heap
// from its own /metrics (nodejs_heap_size_used_bytes), its breaker counts over IPC; stop it.
import type { GatewayConfig } from '../../src/config/schema.ts'
import { C_LIBRARY_ENV, NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { forkChild } from './forked.ts'
import { GATEWAY_CPU, pin } from './pin.ts'
import { processFds, processRssMiB } from './stats.ts'

export interface GatewayChild {
  readonly pid: number
  /** Whether the gateway has CPU 0 to itself (the drivers pin themselves to CPU 1). */
  readonly pinned: boolean
  readonly url: string
  readonly port: number
  readonly adminUrl: string
  /** Open file descriptors, from /proc/<pid>/fd. */
  fds (): number
  /** Resident set size in MiB, from /proc/<pid>/status. */
  rssMiB (): number
  /** The gateway's own /metrics text. */
  metrics (): Promise<string>
  /** nodejs_heap_size_used_bytes from /metrics, in MiB. */
  heapUsedMiB (): Promise<number>
  /** Counts of the breakers' own events since the gateway started. */
  breakerEvents (): Promise<Record<string, number>>
  /** Heap used now (garbage included), its old generation, and the GCs V8 ran by itself, with the heap right after the latest full one. */
  memory (): Promise<{ heapUsed: number; oldUsed: number; gcs: { major: number; minor: number; heapAfterMajor: number } }>
  /** The gateway's event-loop delay (p99, max) since the last call. */
  loopDelay (): Promise<{ p99Ms: number; maxMs: number }>
  /** When the connections since the last call were accepted (machine clock, ms, ascending), by the client's port. */
  acceptedAt (): Promise<Map<number, number[]>>
  /** Heap used (bytes) right after a full collection the harness forces in the child (measurement only). */
  retainedHeap (): Promise<number>
  stop (): Promise<void>
}

export async function startGatewayChild (config: GatewayConfig): Promise<GatewayChild> {
  // the V8 flags the gateway ships with; --expose-gc only so the harness can measure retained heap on request
  // ('retained'): the gateway never calls gc()
  const child = await forkChild<{ url: string; adminUrl: string }>(new URL('./gateway-child.ts', import.meta.url), [JSON.stringify(config)], { env: { ...process.env, ...C_LIBRARY_ENV }, execArgv: [...NODE_FLAGS, '--expose-gc', ...(process.env.STRESS_GATEWAY_ARGS?.split(' ').filter(Boolean) ?? [])] })
  const { pid, ready, ask } = child
  const pinned = pin(pid, GATEWAY_CPU)
  const metrics = async (): Promise<string> => (await fetch(`${ready.adminUrl}/metrics`)).text()
  return {
    pid,
    pinned,
    url: ready.url,
    port: Number(new URL(ready.url).port),
    adminUrl: ready.adminUrl,
    fds: () => processFds(pid),
    rssMiB: () => processRssMiB(pid),
    metrics,
    heapUsedMiB: async () => {
      const m = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(await metrics())
      if (!m) throw new Error('the gateway exposes no nodejs_heap_size_used_bytes')
      return Number(m[1]) / 2 ** 20
    },
    breakerEvents: async () => (await ask<{ events: Record<string, number> }>('breaker')).events,
    memory: () => ask('memory'),
    loopDelay: () => ask('loop'),
    acceptedAt: async () => {
      const byPort = new Map<number, number[]>()
      for (const [port, at] of (await ask<{ accepted: [number, number][] }>('accepts')).accepted) {
        const times = byPort.get(port)
        if (times === undefined) byPort.set(port, [at])
        else times.push(at)
      }
      return byPort
    },
    retainedHeap: async () => (await ask<{ heapUsed: number }>('retained')).heapUsed,
    stop: child.stop,
  }
}

/** Value of one metric sample line (`name{labels} value`) whose name and labels contain every given part. */
export function sumSamples (text: string, name: string, ...parts: string[]): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || parts.some((p) => !line.includes(p))) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}
