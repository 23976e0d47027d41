// DNS service discovery for one pool target spec (e.g. a Kubernetes headless Service): every A and AAAA
// record is a target, looked up again every refreshMs. It reports the set and its changes; what joins or
// drains a pool (health checks first, draining the removed) is the pool's business.
import { EventEmitter } from 'node:events'
import { Resolver } from 'node:dns/promises'
import { answerFromError, EMPTY_STATE, failures, nextState, noRecordsCode, type AddressState, type DnsLookupError, type FamilyAnswer } from './answer.ts'
import { checkDnsTargetSpec, type DnsTargetSpec } from './spec.ts'
import { diffUrls, targetUrls } from './target-urls.ts'

export interface DiscoveryTimers {
  set (callback: () => void, ms: number): unknown
  clear (handle: unknown): void
}

export interface DnsDiscoveryOptions {
  /** Name servers (`'127.0.0.1:5353'`, `'[::1]:53'`); default: the system's (resolv.conf in a pod). */
  servers?: readonly string[]
  /** Per-try query timeout given to the resolver, which backs off between tries (default 1000). */
  timeoutMs?: number
  /** Tries per query before it fails (default 2). */
  tries?: number
  /** Lookups in a row that must find no address before a non-empty set is emptied (default 2; 1 = at once). */
  emptyConfirmations?: number
  /** Injectable for tests; the default timers are unref'd so discovery never holds the process open. */
  timers?: DiscoveryTimers
  /**
   * The last known addresses of the same name, port and protocol, from the discovery this one replaces (a pool
   * rebuilt by a reload): they are the set until this one's own lookups change it, as a failed lookup keeps them.
   */
  initial?: AddressState
  /**
   * Whether the discovery `initial` came from had decided its set (an empty one too, once confirmed): without it, a
   * set with addresses is decided and an empty one is not.
   */
  decided?: boolean
}

export interface DnsDiscoveryEvents {
  /** The set of target URLs changed; `urls` is the whole new set, sorted. */
  change: [urls: readonly string[], added: readonly string[], removed: readonly string[]]
  /** A query failed (timeout, refused, SERVFAIL…): the addresses it would have refreshed are kept. */
  lookupError: [error: DnsLookupError]
  /**
   * The name's decided set has no address (code: ENOTFOUND for NXDOMAIN, ENODATA for NODATA): at the lookup that
   * decides it so, or that empties a set with addresses; undefined when such a name has addresses again. Only on
   * those changes, never at every refresh.
   */
  noAddress: [code: string | undefined]
  /** A lookup ended; ok when no query failed. */
  lookup: [ok: boolean]
}

const nodeTimers: DiscoveryTimers = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export class DnsDiscovery extends EventEmitter<DnsDiscoveryEvents> {
  readonly spec: DnsTargetSpec
  readonly #resolver: Resolver
  readonly #timers: DiscoveryTimers
  readonly #emptyConfirmations: number
  #state: AddressState = EMPTY_STATE
  #urls: readonly string[] = Object.freeze([])
  #lastError: DnsLookupError | undefined
  #inFlight: Promise<void> | undefined
  #timer: unknown
  #started = false
  #stopped = false
  /** A lookup has decided the set: it found addresses, or emptyConfirmations lookups in a row found none. */
  #decided = false
  #emptyAnswers = 0
  /** The set is decided and empty (said by noAddress); a carried one was said by the discovery it replaces. */
  #noAddress = false
  /** Why the set is empty, as the last lookup that found it so without a failure said (ENOTFOUND or ENODATA). */
  #emptyCode: string | undefined

  constructor (spec: DnsTargetSpec, options: DnsDiscoveryOptions = {}) {
    super()
    checkDnsTargetSpec(spec)
    this.spec = spec
    this.#resolver = new Resolver({ timeout: options.timeoutMs ?? 1000, tries: options.tries ?? 2 })
    if (options.servers !== undefined) this.#resolver.setServers(options.servers)
    this.#timers = options.timers ?? nodeTimers
    this.#emptyConfirmations = Math.max(1, options.emptyConfirmations ?? 2)
    if (options.initial !== undefined) {
      this.#state = options.initial
      this.#urls = Object.freeze(targetUrls([...options.initial.v4, ...options.initial.v6], spec))
      this.#decided = options.decided ?? this.#urls.length > 0
      this.#noAddress = this.#decided && this.#urls.length === 0
    }
  }

  /** The addresses known now (plain data: what a replacing discovery starts from). */
  get state (): AddressState { return this.#state }

  /** The current target URLs, sorted. */
  get urls (): readonly string[] { return this.#urls }

  /**
   * Whether the name's set is known: a lookup found addresses, or as many lookups in a row as it takes to empty a
   * set (emptyConfirmations) answered that there are none. Failed lookups never decide it.
   */
  /** Why the decided set has no address (ENOTFOUND, ENODATA), once a lookup has said; undefined while it has some. */
  get emptyCode (): string | undefined { return this.#noAddress ? this.#emptyCode : undefined }

  get decided (): boolean { return this.#decided }

  /** The last failed query's error; cleared by a lookup in which both queries were answered. */
  get lastError (): DnsLookupError | undefined { return this.#lastError }

  /** Looks up at once, then refreshMs after each lookup ends. Resolves when the first lookup is applied. */
  start (): Promise<void> {
    if (this.#started || this.#stopped) return this.#inFlight ?? Promise.resolve()
    this.#started = true
    return this.#cycle()
  }

  /** No more lookups or events; a lookup in flight is cancelled and its answer dropped. Final. */
  stop (): void {
    this.#stopped = true
    this.#timers.clear(this.#timer)
    this.#timer = undefined
    this.#resolver.cancel()
  }

  /**
   * One lookup now, applied before the promise resolves (it never rejects: failures are reported as
   * lookupError). A lookup already in flight is joined, not started again.
   */
  refresh (): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#inFlight ??= this.#lookup().finally(() => { this.#inFlight = undefined })
    return this.#inFlight
  }

  async #cycle (): Promise<void> {
    try {
      await this.refresh()
    } finally {
      // scheduled from the end of a lookup, so a slow lookup delays the next one instead of overlapping it
      if (!this.#stopped) this.#timer = this.#timers.set(() => { void this.#cycle() }, this.spec.refreshMs)
    }
  }

  async #lookup (): Promise<void> {
    const name = this.spec.dns
    const [a, aaaa] = await Promise.all([
      this.#query(this.#resolver.resolve4(name)),
      this.#query(this.#resolver.resolve6(name)),
    ])
    if (this.#stopped) return
    this.#state = nextState(this.#state, a, aaaa, this.#emptyConfirmations)
    const errors = failures(a, aaaa)
    this.#lastError = errors.at(-1)
    const urls = targetUrls([...this.#state.v4, ...this.#state.v6], this.spec)
    if (urls.length > 0) this.#decided = true
    else if (errors.length > 0) this.#emptyAnswers = 0
    else if (++this.#emptyAnswers >= this.#emptyConfirmations) this.#decided = true
    const { added, removed } = diffUrls(this.#urls, urls)
    const changed = added.length > 0 || removed.length > 0
    if (changed) this.#urls = Object.freeze(urls)
    // NXDOMAIN and NODATA are answers to the set logic, but a name they leave with nothing to serve is news to the
    // operator (a typo'd Service name is otherwise only 503s). Said before the pool takes the set, as a failing
    // lookup is: the cause comes before its effect in the log and the feed ("no target available", a failover)
    if (urls.length === 0 && errors.length === 0) this.#emptyCode = noRecordsCode(a, aaaa)
    const noAddress = this.#decided && urls.length === 0
    if (noAddress !== this.#noAddress) {
      this.#noAddress = noAddress
      this.emit('noAddress', noAddress ? noRecordsCode(a, aaaa) : undefined)
    }
    for (const error of errors) this.emit('lookupError', error)
    // (lookups that work again after failing are said on 'lookup': before the change too)
    this.emit('lookup', errors.length === 0)
    if (changed) this.emit('change', this.#urls, Object.freeze(added), Object.freeze(removed))
  }

  #query (lookup: Promise<string[]>): Promise<FamilyAnswer> {
    return lookup.then((addresses) => ({ ok: true, addresses }), (error: DnsLookupError) => answerFromError(error))
  }
}
