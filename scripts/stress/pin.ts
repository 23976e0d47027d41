// The stress scripts measure the gateway, not their own load: like bench/run.ts, the gateway gets CPU 0 to
// itself and the drivers (attackers, normal client, upstream) share CPU 1. `taskset -a -p` moves every thread
// of a process that is already running (forked children cannot be started through taskset's exec).
import { spawnSync } from 'node:child_process'
import { canPin } from '../../bench/children.ts'

export const GATEWAY_CPU = 0
export const DRIVER_CPU = 1

/** Pins pid and all its threads to cpu; false where taskset or a second CPU is missing (nothing is pinned). */
export function pin (pid: number, cpu: number): boolean {
  if (!canPin) return false
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0
}
