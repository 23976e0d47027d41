// The load driver's handle on the stress upstream in its own process (./upstream-child.ts), pinned to the
// drivers' CPU: start it, clear and read what it recorded, stop it.
import { forkChild } from './forked.ts'
import { DRIVER_CPU, pin } from './pin.ts'

export interface UpstreamReport {
  /** machineNow() when each /slow request arrived, by id. */
  arrived: Map<string, number>
  /** machineNow() when the gateway closed a /slow request before it was answered, by id. */
  closed: Map<string, number>
  /** /slow requests answered in full since the upstream started. */
  slowAnswered: number
  /** The upstream's own event-loop delay since the last clear. */
  loop: { p99Ms: number; maxMs: number }
}

export interface UpstreamChild {
  readonly pid: number
  readonly url: string
  clear (): Promise<void>
  report (): Promise<UpstreamReport>
  stop (): Promise<void>
}

export async function startUpstreamChild (slowMs: number): Promise<UpstreamChild> {
  const child = await forkChild<{ url: string }>(new URL('./upstream-child.ts', import.meta.url), [String(slowMs)])
  pin(child.pid, DRIVER_CPU)
  return {
    pid: child.pid,
    url: child.ready.url,
    clear: async () => { await child.ask('clear') },
    report: async () => {
      const r = await child.ask<{ arrived: [string, number][]; closed: [string, number][]; slowAnswered: number; loop: UpstreamReport['loop'] }>('report')
      return { arrived: new Map(r.arrived), closed: new Map(r.closed), slowAnswered: r.slowAnswered, loop: r.loop }
    },
    stop: child.stop,
  }
}
