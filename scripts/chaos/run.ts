// What both modes share: the seeded choices, the run's clock, the steps (so a violation names the step to replay
// from), violations by kind, and the config history (which configs were live while a request was in flight).
export function seeded (seed: number): () => number {
  // mulberry32: the same seed gives the same steps on every machine
  let a = seed | 0
  return () => {
    a = a + 0x6D2B79F5 | 0
    let t = Math.imul(a ^ a >>> 15, 1 | a)
    t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t
    return ((t ^ t >>> 14) >>> 0) / 4294967296
  }
}

export interface Options { seed: number; steps: number; gapMs: number; quiet: boolean }

export interface Summary { mode: string; requests: number; ok: number; allowedFailures: number; reloads: number; actions: number; violations: Violation[]; extra: string; stepKinds: ReadonlyMap<string, number> }

export interface Violation { kind: string; step: string; text: string }

/** One random step: what kind it is, what applies it (and says what it did), and whether it needs a reload. */
export type Step = [kind: string, apply: () => string | Promise<string>, reload: boolean]

export type ReloadAnswer = { status: number; body: { result?: string; changes?: unknown; problems?: unknown } }

export class Run<M> {
  readonly rnd: () => number
  readonly options: Options
  readonly violations: Violation[] = []
  /** How many steps of each kind ran. */
  readonly stepKinds = new Map<string, number>()
  /** Each config the gateway ran, from the moment its file was written to the moment the next reload was answered. */
  readonly history: { m: M; from: number; to: number }[]
  readonly #t0 = performance.now()
  readonly #steps: { label: string; at: number }[] = []

  constructor (options: Options, model: M) {
    this.options = options
    this.rnd = seeded(options.seed)
    this.history = [{ m: structuredClone(model), from: 0, to: Infinity }]
  }

  readonly now = (): number => Math.round(performance.now() - this.#t0)
  pick<T> (items: readonly T[]): T { return items[Math.floor(this.rnd() * items.length)]! }
  int (lo: number, hi: number): number { return lo + Math.floor(this.rnd() * (hi - lo + 1)) }

  beginStep (i: number): void { this.beginPhase(`step ${i}`) }
  beginPhase (label: string): void { this.#steps.push({ label, at: this.now() }) }

  /** The step under way at time t, as the replay hint names it. */
  stepAt (t: number): string {
    const s = this.#steps.filter((x) => x.at <= t).at(-1)
    return s === undefined ? 'before step 0' : s.label
  }

  violate (kind: string, at: number | string, text: string): void {
    this.violations.push({ kind, step: typeof at === 'string' ? at : this.stepAt(at), text })
  }

  /** A reload was answered at `at1`: the config `m` has been live since `at0`, when its file was written. */
  configChanged (m: M, at0: number, at1: number): void {
    this.history[this.history.length - 1]!.to = at1
    this.history.push({ m: structuredClone(m), from: at0, to: Infinity })
  }

  /** The configs live at some moment of [t0, t1]. */
  live (t0: number, t1: number): M[] { return this.history.filter((h) => h.from <= t1 && h.to >= t0).map((h) => h.m) }

  log (line: string): void { if (!this.options.quiet) console.log(line) }

  /**
   * The mode's steps, one after another: each applied, the config reloaded when it changed (`model` is what the
   * gateway runs from then on), `after` called (the checks after a step), then a random gap. Returns the reloads.
   */
  async runSteps (mode: string, next: () => Step, model: M, reload: () => Promise<ReloadAnswer>, after?: (i: number, desc: string) => Promise<void>): Promise<number> {
    let reloads = 0
    for (let i = 0; i < this.options.steps; i++) {
      const [kind, apply, isReload] = next()
      this.stepKinds.set(kind, (this.stepKinds.get(kind) ?? 0) + 1)
      this.beginStep(i)
      const desc = await apply()
      let line = `${mode} step ${i} @${this.now()}ms ${desc}`
      if (isReload) {
        const at0 = this.now()
        const r = await reload()
        this.configChanged(model, at0, this.now())
        reloads++
        if (!reloadApplied(r)) this.violate('reload', `step ${i}`, `${desc}: ${describeReload(r)}`)
        line += ' => reload ' + describeReload(r)
      }
      this.log(line)
      await after?.(i, desc)
      await new Promise((resolve) => setTimeout(resolve, this.options.gapMs + Math.floor(this.rnd() * this.options.gapMs)))
    }
    return reloads
  }
}

/** Whether a reload of a valid config was applied. */
export const reloadApplied = (r: ReloadAnswer): boolean => r.status === 200 && (r.body.result === 'success' || r.body.result === 'unchanged')

export const describeReload = (r: ReloadAnswer): string =>
  `${r.status} ${r.body.result ?? ''} ${r.body.result === 'success' ? JSON.stringify(r.body.changes ?? '') : JSON.stringify(r.body.problems ?? '')}`.slice(0, 300)

/** The gauges for requests and tunnels in flight that are not 0. */
export const nonZeroInFlightGauges = (metrics: string): string[] =>
  metrics.split('\n').filter((l) => /in_flight|tunnels_open|inflight/.test(l) && !l.startsWith('#') && !/ 0$/.test(l))
