// What happened and when, as the invariants need it: when each upstream was down, which config may have been in
// force, and the periods in which an upstream must take no new request (drained, disabled, removed; the canary at
// weight 0) or no health probe (removed, or its pool not checked).
import { inConfig, poolOf, UPSTREAMS, type Model } from './model.ts'
import type { ChaosUpstream } from './upstream.ts'

export type PeriodKind = 'strict' | 'canary' | 'probes'

export interface Period {
  upstream: string
  /** From the answer of the action that began it to the call of the one that ended it. */
  from: number
  until: number
  /** The upstream's arrivals and probes when it began. */
  arrivalsAt: number
  probesAt: number
  /** Attempts that could still reach the upstream when it began (in flight, or of a retired pool). */
  bound: number
}

const RULES: Record<PeriodKind, (m: Model, u: string) => boolean> = {
  strict: (m, u) => inConfig(m.config, u) === undefined || (m.ops.get(u)?.draining ?? false) || (m.ops.get(u)?.disabled ?? false),
  canary: (m, u) => poolOf(u) === 'next' && m.canary.weight === 0,
  probes: (m, u) => inConfig(m.config, u) === undefined || m.config.pools[poolOf(u)]?.healthMs === undefined,
}

export class Journal {
  readonly t0 = Date.now()
  readonly #kills = new Map<string, Array<{ from: number; to: number }>>()
  /** Each applied config's span (a reload applies between its call and its answer), and whether it had the extra route. */
  readonly #configs: Array<{ from: number; to: number; extra: boolean }> = [{ from: this.t0, to: Infinity, extra: false }]
  readonly #open: Record<PeriodKind, Map<string, Period>> = { strict: new Map(), canary: new Map(), probes: new Map() }
  readonly closed: Record<PeriodKind, Period[]> = { strict: [], canary: [], probes: [] }

  killed (upstream: string): void {
    const kills = this.#kills.get(upstream) ?? []
    kills.push({ from: Date.now(), to: Infinity })
    this.#kills.set(upstream, kills)
  }

  restarted (upstream: string): void {
    const last = this.#kills.get(upstream)?.at(-1)
    if (last !== undefined && last.to === Infinity) last.to = Date.now()
  }

  /** Up from (a little before) `from` to `to`: a connection dropped just before `from` may not be noticed yet. */
  liveThroughout (upstream: string, from: number, to: number): boolean {
    return !(this.#kills.get(upstream) ?? []).some((k) => k.from <= to && k.to >= from - 20)
  }

  configChanged (sentAt: number, doneAt: number, extra: boolean): void {
    this.#configs.at(-1)!.to = doneAt
    this.#configs.push({ from: sentAt, to: Infinity, extra })
  }

  /** Whether a config without the extra route may have been in force during [from, to]. */
  lackedExtra (from: number, to: number): boolean {
    return this.#configs.some((c) => !c.extra && c.from <= to && c.to >= from)
  }

  /** Opens and closes periods after an action moved the model from `before` to `after`. */
  update (before: Model | undefined, after: Model, sentAt: number, doneAt: number, ups: ReadonlyMap<string, ChaosUpstream>, bound: (id: string) => number): void {
    for (const kind of ['strict', 'canary', 'probes'] as const) {
      for (const name of UPSTREAMS) {
        const was = before !== undefined && RULES[kind](before, name)
        const is = RULES[kind](after, name)
        const open = this.#open[kind].get(name)
        if (open !== undefined && !is) {
          this.closed[kind].push({ ...open, until: sentAt })
          this.#open[kind].delete(name)
        } else if (open === undefined && is && !was) {
          const u = ups.get(name)!
          this.#open[kind].set(name, { upstream: name, from: doneAt, until: Infinity, arrivalsAt: u.arrivals.length, probesAt: u.probes.length, bound: bound(u.id) })
        }
      }
    }
  }

  /** Ends every open period now. */
  closeAll (at: number): void {
    for (const kind of ['strict', 'canary', 'probes'] as const) {
      for (const p of this.#open[kind].values()) this.closed[kind].push({ ...p, until: at })
      this.#open[kind].clear()
    }
  }
}
