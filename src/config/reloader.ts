// Runs config reloads from any trigger one at a time: load, compare, apply, report.
// A trigger that arrives during a run is folded into one follow-up run, which loads again, so the newest file wins.
import { ConfigError } from '../errors.ts'
import { diffConfigs, restartRequiredChanges, type ConfigDiff } from './diff.ts'
import { configHash, sameConfig } from './hash.ts'
import type { ResolvedConfig } from './schema.ts'

export type ReloadTrigger = 'file' | 'signal' | 'admin'

export interface ReloadResult {
  result: 'success' | 'unchanged' | 'error'
  /**
   * The trigger that started the run. A follow-up run (triggers folded while another ran) carries the first folded
   * trigger, or the first explicit one (signal, admin) if a file event came first: every folded caller gets its result.
   */
  trigger: ReloadTrigger
  /** Whenever apply was called: the diff it was given. */
  diff?: ConfigDiff
  /** On error: "path: sentence" problems, never a stack. */
  problems?: string[]
  /** Hash of the loaded config, whenever loading succeeded. */
  hash?: string
  /**
   * Whatever the result: the settings of the config in force after the run that wait for a restart, as they differ
   * from those the process started with (only when the reloader knows them: ReloaderOptions.started).
   */
  restartRequired?: string[]
  /** Not run because the gateway would take no reload (shutting down): no fault of the config. */
  refused?: 'shutting_down'
  /**
   * On error: the load failed for a reason of the gateway's own machine, not of the config (the errno code: out of
   * file descriptors or memory, an I/O error): no fault of the config, and a later reload may succeed.
   */
  localFailure?: string
}

export interface ReloaderOptions {
  /**
   * Reads and validates the config; throws ConfigError for an invalid one. Told the run's trigger: a file event may
   * reuse what the unchanged file gave, an explicit reload (signal, admin) reads everything again.
   */
  load: (trigger: ReloadTrigger) => Promise<ResolvedConfig>
  /** Switches the gateway to `next`; may be async (awaited, still inside the run). Throwing or rejecting is an error result. */
  apply: (next: ResolvedConfig, diff: ConfigDiff) => void | Promise<void>
  /** The config the gateway runs now: what `next` is compared with. */
  current: () => ResolvedConfig
  /**
   * The config the process started with: its restart-required settings (RESTART_REQUIRED_SETTINGS) are the ones in
   * force, so a diff's restartRequired and every result's say what differs from them. Without it a diff compares
   * them with the previous config and results carry no restartRequired.
   */
  started?: ResolvedConfig
  /** Called once per run (not per caller), e.g. for logs and metrics. */
  onResult?: (result: ReloadResult) => void
  /**
   * Why the gateway takes no reload now, if it does not (it is shutting down): asked before the config is loaded (a
   * config module is not run for nothing) and again before it is applied (the drain may have begun meanwhile).
   */
  refuse?: () => 'shutting_down' | undefined
  /** How long the event loop runs between two steps after a long one (default STEP_PAUSE_MS). */
  stepPauseMs?: number
}

interface FollowUp {
  trigger: ReloadTrigger
  promise: Promise<ReloadResult>
  resolve: (result: ReloadResult | PromiseLike<ReloadResult>) => void
}

export class Reloader {
  readonly #options: ReloaderOptions
  readonly #pauseMs: number
  #running = false
  #followUp: FollowUp | undefined

  constructor (options: ReloaderOptions) {
    this.#options = options
    this.#pauseMs = options.stepPauseMs ?? STEP_PAUSE_MS
  }

  /** Never rejects: every failure is a result with `result: 'error'`. */
  reload (trigger: ReloadTrigger): Promise<ReloadResult> {
    if (!this.#running) return this.#run(trigger)
    // one the gateway would refuse now is answered now, not after the run it would wait for (up to a load timeout:
    // an admin caller would meet the listener's close instead of its 503)
    const refused = this.#refused(trigger)
    if (refused !== undefined) {
      this.#report(refused)
      return Promise.resolve(refused)
    }
    if (this.#followUp === undefined) {
      const { promise, resolve } = Promise.withResolvers<ReloadResult>()
      this.#followUp = { trigger, promise, resolve }
    } else if (this.#followUp.trigger === 'file') {
      // an explicit reload folded after a file event: the follow-up must read everything again (and says who asked)
      this.#followUp.trigger = trigger
    }
    return this.#followUp.promise
  }

  async #run (trigger: ReloadTrigger): Promise<ReloadResult> {
    this.#running = true
    let result: ReloadResult
    try {
      result = await this.#attempt(trigger)
      // still marked running: a reload() called from onResult becomes the follow-up, not a concurrent run
      this.#report(result)
    } finally {
      this.#running = false
    }
    const followUp = this.#followUp
    if (followUp !== undefined) {
      this.#followUp = undefined
      followUp.resolve(this.#run(followUp.trigger))
    }
    return result
  }

  async #attempt (trigger: ReloadTrigger): Promise<ReloadResult> {
    const result = await this.#loadAndApply(trigger)
    const started = this.#options.started
    if (started === undefined) return result
    try {
      return { ...result, restartRequired: result.result === 'success' && result.diff !== undefined ? result.diff.restartRequired : restartRequiredChanges(started, this.#options.current()) }
    } catch {
      return result // only a broken current() gets here, and the result already says what went wrong
    }
  }

  async #loadAndApply (trigger: ReloadTrigger): Promise<ReloadResult> {
    const refusedBefore = this.#refused(trigger)
    if (refusedBefore !== undefined) return refusedBefore
    let next: ResolvedConfig
    const loading = threadCpuMs()
    try {
      next = await this.#options.load(trigger)
    } catch (err) {
      // an invalid config is said as such, a drain begun meanwhile or not: the next start will read it
      const problems = err instanceof ConfigError ? [...err.problems] : [`load: ${oneLine(err)}`]
      const local = localFailure(err)
      return local === undefined ? { result: 'error', trigger, problems } : { result: 'error', trigger, problems, localFailure: local }
    }
    // A large config's validation, hash, comparison and build each block the event loop for tens of milliseconds
    // (5,000 routes and 1,000 targets: ~20-80 ms each on a warm process, more while V8 still compiles them): requests
    // waiting meanwhile are served between them, not after the whole reload.
    await betweenSteps(loading, this.#pauseMs)
    const refusedAfter = this.#refused(trigger)
    if (refusedAfter !== undefined) return refusedAfter
    try {
      const hashing = threadCpuMs()
      const hash = configHash(next)
      const current = this.#options.current()
      if (sameConfig(next, current)) return { result: 'unchanged', trigger, hash }
      await betweenSteps(hashing, this.#pauseMs)
      const comparing = threadCpuMs()
      const diff = diffConfigs(current, next, this.#options.started)
      await betweenSteps(comparing, this.#pauseMs)
      const refusedBeforeApply = this.#refused(trigger)
      if (refusedBeforeApply !== undefined) return refusedBeforeApply
      try {
        await this.#options.apply(next, diff)
      } catch (err) {
        return { result: 'error', trigger, hash, diff, problems: [`apply: ${oneLine(err)}`] }
      }
      return { result: 'success', trigger, hash, diff }
    } catch (err) {
      // hashing or diffing a config that passed load: only a broken load or current() gets here
      return { result: 'error', trigger, problems: [`compare: ${oneLine(err)}`] }
    }
  }

  #refused (trigger: ReloadTrigger): ReloadResult | undefined {
    const refused = this.#options.refuse?.()
    return refused === undefined ? undefined : { result: 'error', trigger, refused, problems: ['the gateway is shutting down'] }
  }

  #report (result: ReloadResult): void {
    try {
      this.#options.onResult?.(result)
    } catch {
      // a failing observer must not turn a finished reload into a failed one, nor stop the follow-up
    }
  }
}

/**
 * A step that took this much of the event loop's CPU held requests up: the next one waits STEP_PAUSE_MS. CPU time,
 * not wall time: a short step preempted on a busy host is no large config.
 */
const LONG_STEP_MS = 10
/**
 * How long the event loop runs between two steps after a long one. A request that waited through a step is read and
 * forwarded in the loop's next poll phase, and its upstream's answer is relayed in a later one: with one poll phase
 * between steps (5,000 routes) it waited through the next step too, and a request caught by a reload through 2-4 of
 * them. Reloads are rare and operator-driven: ~20 ms more for each large one spares its requests the wait.
 */
const STEP_PAUSE_MS = 20

/**
 * Resolves once the I/O waiting now (requests, timers) has had its turn: STEP_PAUSE_MS after a step that kept the
 * loop's thread LONG_STEP_MS of CPU since `sinceCpuMs` (`pauseMs`: STEP_PAUSE_MS unless told), else after two check phases, so a poll phase runs between (a load ends in
 * the poll phase, its file read: one setImmediate from there ran the next step in the same loop turn's check phase,
 * before any timer or request that waited through the validation).
 */
function betweenSteps (sinceCpuMs: number, pauseMs: number): Promise<void> {
  if (threadCpuMs() - sinceCpuMs >= LONG_STEP_MS) return new Promise((resolve) => { setTimeout(resolve, pauseMs) })
  return new Promise((resolve) => { setImmediate(() => setImmediate(resolve)) })
}

/** The CPU time the event loop's thread has used, ms. */
function threadCpuMs (): number {
  const { user, system } = process.threadCpuUsage()
  return (user + system) / 1000
}

/**
 * Error codes of a load that failed for a reason of the gateway's own machine: out of file descriptors (the process's
 * or the system's) or memory, an I/O error, a read that would block. A file that is missing, unreadable to the
 * gateway's user, a directory, or not valid is the file's problem: its codes are not here.
 */
const LOCAL_FAILURES = new Set(['EMFILE', 'ENFILE', 'ENOMEM', 'EIO', 'EAGAIN', 'EBUSY'])

/** The code of a local failure in `err` or its causes (loadConfigFile's ConfigError keeps the error behind it). */
function localFailure (err: unknown): string | undefined {
  let cause = err
  for (let depth = 0; depth < 5 && typeof cause === 'object' && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && LOCAL_FAILURES.has(code)) return code
    cause = (cause as { cause?: unknown }).cause
  }
  return undefined
}

/** The first line of an error's message: problems are shown to operators, stacks are not. */
function oneLine (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0] || (err instanceof Error ? err.name : 'unknown error')
}
