// "Since when": the time each target, breaker and tier entered its current state. Taken from the gateway when the
// status says so, otherwise from the first snapshot in which this page saw the change (unknown before that).
import { circuitKey, targetKey, tierKey } from './views/context.ts'
import type { DashboardStatus } from './wire.ts'

interface Entry { state: string; since: number | undefined }

export class SinceTracker {
  #entries = new Map<string, Entry>()
  #first = true

  update (status: DashboardStatus, now: number): void {
    const next = new Map<string, Entry>()
    const see = (key: string, state: string, explicit: string | undefined): void => {
      const known = explicit === undefined ? Number.NaN : Date.parse(explicit)
      const before = this.#entries.get(key)
      let since: number | undefined
      if (!Number.isNaN(known)) since = known
      else if (before !== undefined && before.state === state) since = before.since
      else if (!this.#first) since = now
      next.set(key, { state, since })
    }
    for (const [name, pool] of Object.entries(status.pools)) {
      see(circuitKey(name), pool.circuit, pool.circuitSince)
      see(tierKey(name), `${pool.activeTier}/${pool.switchover}`, pool.activeTierSince)
      for (const target of pool.targets) see(targetKey(name, target.id), target.state, target.since)
    }
    this.#entries = next
    this.#first = false
  }

  since (key: string): number | undefined {
    return this.#entries.get(key)?.since
  }
}
