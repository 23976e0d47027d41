// Runs config reloads from any trigger one at a time: load, compare, apply, report.
// A trigger that arrives during a run is folded into one follow-up run, which loads again, so the newest file wins.
import { ConfigError } from '../errors.ts'
import { diffConfigs, type ConfigDiff } from './diff.ts'
import { configHash } from './hash.ts'
import type { ResolvedConfig } from './schema.ts'

export type ReloadTrigger = 'file' | 'signal' | 'admin'

export interface ReloadResult {
  result: 'success' | 'unchanged' | 'error'
  /** The trigger that started the run; later triggers folded into it get the same result. */
  trigger: ReloadTrigger
  /** Whenever apply was called: the diff it was given. */
  diff?: ConfigDiff
  /** On error: "path: sentence" problems, never a stack. */
  problems?: string[]
  /** Hash of the loaded config, whenever loading succeeded. */
  hash?: string
}

export interface ReloaderOptions {
  /** Reads and validates the config; throws ConfigError for an invalid one. */
  load: () => Promise<ResolvedConfig>
  /** Switches the gateway to `next`; may be async (awaited, still inside the run). Throwing or rejecting is an error result. */
  apply: (next: ResolvedConfig, diff: ConfigDiff) => void | Promise<void>
  /** The config the gateway runs now: what `next` is compared with. */
  current: () => ResolvedConfig
  /** Called once per run (not per caller), e.g. for logs and metrics. */
  onResult?: (result: ReloadResult) => void
}

interface FollowUp {
  trigger: ReloadTrigger
  promise: Promise<ReloadResult>
  resolve: (result: ReloadResult | PromiseLike<ReloadResult>) => void
}

export class Reloader {
  readonly #options: ReloaderOptions
  #running = false
  #followUp: FollowUp | undefined

  constructor (options: ReloaderOptions) {
    this.#options = options
  }

  /** Never rejects: every failure is a result with `result: 'error'`. */
  reload (trigger: ReloadTrigger): Promise<ReloadResult> {
    if (!this.#running) return this.#run(trigger)
    if (this.#followUp === undefined) {
      const { promise, resolve } = Promise.withResolvers<ReloadResult>()
      this.#followUp = { trigger, promise, resolve }
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
    let next: ResolvedConfig
    try {
      next = await this.#options.load()
    } catch (err) {
      return { result: 'error', trigger, problems: err instanceof ConfigError ? [...err.problems] : [`load: ${oneLine(err)}`] }
    }
    try {
      const hash = configHash(next)
      const current = this.#options.current()
      if (hash === configHash(current)) return { result: 'unchanged', trigger, hash }
      const diff = diffConfigs(current, next)
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

  #report (result: ReloadResult): void {
    try {
      this.#options.onResult?.(result)
    } catch {
      // a failing observer must not turn a finished reload into a failed one, nor stop the follow-up
    }
  }
}

/** The first line of an error's message: problems are shown to operators, stacks are not. */
function oneLine (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0] || (err instanceof Error ? err.name : 'unknown error')
}
