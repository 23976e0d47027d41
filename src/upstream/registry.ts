// Builds every pool's runtime from the config: its targets, balancer, health checks, outlier detector,
// breaker, retry policy and budget. Nothing here is shared between pools. On reload, a pool whose settings did
// not change keeps its runtime (connections, health, ejections, breaker) and only its target set is updated.
import { EventEmitter } from 'node:events'
import { createBalancer } from '../balancer/index.ts'
import { parseHashKey, type HashKeySpec } from '../balancer/hash.ts'
import { poolSettingsJson } from '../config/hash.ts'
import { canonicalDnsName, targetIdOf, type PoolConfig, type ResolvedConfig, type TargetConfig } from '../config/schema.ts'
import { ActiveHealthChecker } from '../health/active.ts'
import { OutlierDetector } from '../health/outlier.ts'
import { PoolBreaker } from '../resilience/breaker.ts'
import { RetryBudget } from '../resilience/budget.ts'
import type { AddressState } from '../discovery/answer.ts'
import { DnsDiscovery } from '../discovery/dns.ts'
import { RetryDecider } from '../resilience/retry.ts'
import type { AttemptOutcome, RetryReason } from '../metrics/catalogue.ts'
import { systemClock, type Clock, type RandomSource } from '../runtime.ts'
import { UpstreamPool } from './pool.ts'
import { INITIAL_STATUS, type TargetStatus } from './status.ts'
import { Target, type SharedTarget } from './target.ts'

export interface RuntimeOptions {
  random?: RandomSource
  /** Where a round-robin balancer starts its sequence (src/balancer/round-robin.ts); none: at the first target. */
  roundRobinStart?: RandomSource
  clock?: Clock
  /**
   * Status by target URL to start from (a target that survives a reload keeps its health, ejection, drain).
   * Plain data, never a view of the replaced pool: a closure over it would keep every pool a reload ever
   * replaced alive, each holding the one before.
   */
  carriedStatus?: ReadonlyMap<string, TargetStatus>
  /**
   * What each target's copies share, by target URL (counts, load, tunnels, connections): the same upstream's new
   * copy takes it over, whether the replaced pool lists it or only a busy copy of it (removed, or inherited from the
   * pool before) is left. It refers to no pool (only to the newest copy's, to tell it of load changes).
   */
  carriedShared?: ReadonlyMap<string, SharedTarget>
  /** The URLs the replaced pool served (their counts carry over; a removed copy's do not: adoptShared). */
  carriedCurrent?: ReadonlySet<string>
  /**
   * Last known addresses by discovered name (discoveryKey), from the pool a reload replaces: its DNS targets stay
   * while the new pool's first lookups run, as they would through a failed lookup. Plain data, as carriedStatus.
   */
  carriedAddresses?: ReadonlyMap<string, AddressState>
  /** The names (discoveryKey) among them whose lookups had decided their set in the replaced pool, empty ones too. */
  carriedDecided?: ReadonlySet<string>
  /** The lag each target (by URL) last reported to the replaced pool's health checks: judged at once, not after a probe. */
  carriedLag?: ReadonlyMap<string, number> | undefined
  /** The targets (by URL) the replaced pool's checks had probed: their first probe here is not at once (ActiveHealthChecker). */
  carriedProbed?: ReadonlySet<string> | undefined
  carriedVerified?: ReadonlySet<string> | undefined
  /**
   * Targets of names the replaced pool discovered and this one does not (a renamed Service): they keep serving
   * until this pool's first lookups are done, as Envoy warms a cluster before it replaces the old one.
   */
  warmupTargets?: readonly DiscoveredTarget[]
  /** Name servers for DNS-discovered targets (default: the system's; tests point at their own). */
  dnsServers?: readonly string[]
  /** Who hears about attempts, retries and refused retries (metrics); built once per pool runtime. */
  observe?: (pool: string) => PoolObserver
}

/** What a pool reports as its requests happen; implemented by the metrics layer. */
export interface PoolObserver {
  /**
   * One attempt ended: how, and how long it took (ms). `serverError`: it was answered with a 5xx that is no failure of
   * the target's (not in failureStatuses): an error for the people watching the dashboard all the same.
   */
  attempt (target: Target, outcome: AttemptOutcome, durationMs: number, serverError?: boolean): void
  retry (reason: RetryReason): void
  budgetExhausted (): void
  /** An outlier ejection maxEjectionPercent refused (switchyard_outlier_ejections_skipped_total). */
  ejectionSkipped (): void
}

const NO_OBSERVER: PoolObserver = { attempt () {}, retry () {}, budgetExhausted () {}, ejectionSkipped () {} }

/** A discovered target as plain data: its URL, the spec's weight and backup flag, and the name it came from. */
export interface DiscoveredTarget {
  key: string
  url: string
  weight: number
  backup: boolean
  /** The name it was found by; none for a replaced pool's fixed target kept while the names it gave way to are looked up. */
  dns: string | undefined
}

export interface PoolRuntimeEvents {
  /**
   * A DNS name's lookups started failing (error set; the last known addresses stay), or its lookups left it with no
   * address (error set with noAddress: code ENOTFOUND for NXDOMAIN, ENODATA for NODATA), or it is well again: lookups
   * work and it has addresses, or they work and it still has none (said as no address, not as recovered).
   */
  discovery: [name: string, error: { code: string; noAddress?: true } | undefined]
}

export class PoolRuntime extends EventEmitter<PoolRuntimeEvents> {
  readonly name: string
  readonly pool: UpstreamPool
  readonly breaker: PoolBreaker
  readonly retry: RetryDecider
  readonly budget: RetryBudget
  readonly outlier: OutlierDetector
  readonly health: ActiveHealthChecker | undefined
  /** The gateway's clock: deadlines, backoff and timers of this pool's requests read it. */
  readonly clock: Clock
  /** Where the request's affinity key comes from, for hash balancing (undefined for other balancers). */
  readonly hashKey: HashKeySpec | undefined
  readonly observer: PoolObserver
  readonly #failureStatuses: ReadonlySet<number>
  /** One per DNS name among the pool's targets; their addresses join the fixed targets. */
  readonly #discoveries: DnsDiscovery[]
  /** Set once checks run: a target that joins after that waits for a passing check. */
  #started = false
  /**
   * A pool a reload built serves at once, before its first lookups end: an address they find new to a name the
   * replaced pool looked up too waits for a passing check, as one a later lookup finds does (a first start is not
   * ready until its first round of checks). These are those names' discoveries.
   */
  readonly #carriedNames = new Set<DnsDiscovery>()
  /** The ids the replaced pool served: an address among them is no newcomer (a renamed name's, a fixed target's). */
  readonly #replacedIds: ReadonlySet<string>
  /** Their status in the replaced pool, by URL, for the first lookups. */
  readonly #replacedStatus: ((t: Target) => TargetStatus | undefined) | undefined
  /** The replaced pool's targets of names this one no longer discovers, kept until the first lookups are done. */
  #warmup: ReadonlyMap<Target, DiscoveredTarget> = new Map()
  /** Retired by a reload, or closed: its first lookups may still end, but nothing starts after that. */
  #retired = false
  #starting: Promise<void> | undefined

  constructor (name: string, config: PoolConfig, options: RuntimeOptions = {}) {
    super()
    const random = options.random ?? Math.random
    const clock = options.clock ?? systemClock
    this.name = name
    this.clock = clock
    // nothing built here may close over `options`: a closure that lives as long as the pool (a listener, the budget's
    // callback) keeps every variable of the scope it was made in that some closure there uses, and the replaced
    // pool's shared state (each target's newest copy) would then stay in memory, removed targets too, until the
    // next rebuild. What reads the hand-over does so in functions of their own.
    this.#discoveries = []
    for (const spec of config.discover) this.#discoveries.push(this.#discover(spec, options))
    const { targets, warmup } = initialTargets(config, this.#discoveries, options)
    this.#warmup = warmup
    this.#replacedIds = new Set([...(options.carriedCurrent ?? [])].map((url) => idOf({ url })))
    this.#replacedStatus = statusLookup(options.carriedStatus, config.healthCheck !== undefined)
    this.pool = new UpstreamPool(name, config, targets, createBalancer(config.balancer, random, options.roundRobinStart), clock, this.#replacedStatus)
    // a half-open probe holds its slot at most what one try may take
    this.breaker = new PoolBreaker(config.circuitBreaker, clock, config.retry.perTryTimeoutMs)
    this.retry = new RetryDecider(config.retry, random)
    const observer = options.observe?.(name) ?? NO_OBSERVER
    this.observer = observer
    this.budget = new RetryBudget({ ...config.retry.budget, maxRequests: config.connections.maxRequests }, () => observer.budgetExhausted())
    this.health = config.healthCheck
      ? new ActiveHealthChecker(this.pool, config.healthCheck, { random, clock, ...(options.carriedLag ? { carriedLag: options.carriedLag } : {}), ...(options.carriedProbed ? { carriedProbed: options.carriedProbed } : {}), ...(options.carriedVerified ? { carriedVerified: options.carriedVerified } : {}) })
      : undefined
    this.outlier = new OutlierDetector(config.outlier, this.pool, clock, { onSkipped: () => observer.ejectionSkipped(), ...(this.health ? { checks: this.health } : {}) })
    this.#failureStatuses = new Set(config.failureStatuses)
    this.hashKey = typeof config.balancer === 'object' ? parseHashKey(config.balancer.key) : undefined
  }

  /** One discovered name, reporting its changes and failures to this pool. */
  #discover (spec: PoolConfig['discover'][number], options: RuntimeOptions): DnsDiscovery {
    const key = discoveryKey(spec)
    const initial = options.carriedAddresses?.get(key)
    const discovery = new DnsDiscovery({ dns: spec.dns, port: spec.port, refreshMs: spec.refreshMs, protocol: spec.protocol }, {
      ...(options.dnsServers ? { servers: options.dnsServers } : {}),
      ...(initial ? { initial, decided: options.carriedDecided?.has(key) === true } : {}),
    })
    // a name whose lookups had not answered yet in the replaced pool (a reload right after the one that named it)
    // is as new as a renamed one: what its first lookup finds serves at once; one that had answered, even with no
    // address (a Service scaled to 0), holds an address it finds new out for a check, as the running pool would
    if (initial !== undefined && discovery.decided) this.#carriedNames.add(discovery)
    this.#listen(discovery, canonicalDnsName(spec.dns))
    return discovery
  }

  /** `name`: as lookups compare names (a reload that only respelled it kept this discovery). */
  #listen (discovery: DnsDiscovery, name: string): void {
    let failing = false
    /**
     * Why the name has no address (its decided set is empty); undefined while it has addresses. A name carried empty
     * from the pool this one replaces was said so there already: not again, nor taken for recovered later.
     */
    let noAddress: string | undefined = discovery.decided && discovery.urls.length === 0 ? 'ENOTFOUND' : undefined
    /** What was said of the name last, so a state is not said twice in a row. */
    let said: 'failing' | 'noAddress' | 'ok' = noAddress === undefined ? 'ok' : 'noAddress'
    const report = (error: { code: string; noAddress?: true } | undefined): void => {
      said = error === undefined ? 'ok' : error.noAddress === true ? 'noAddress' : 'failing'
      this.emit('discovery', name, error)
    }
    discovery.on('change', () => this.#setTargets(this.config))
    // a failing name is reported when it starts failing and when it works again, not at every refresh
    discovery.on('lookupError', (err) => {
      if (!failing) report({ code: err.code ?? 'error' })
      failing = true
    })
    // a name with no address (NXDOMAIN, NODATA) is reported when its lookups leave it so, and when addresses come
    // back; while a query still fails, the lookup that works again says that
    discovery.on('noAddress', (code) => {
      noAddress = code
      if (code !== undefined) report({ code, noAddress: true })
      else if (!failing) report(undefined)
    })
    discovery.on('lookup', (ok) => {
      // lookups that work again on a name still without an address are no recovery: its state is said instead, unless
      // that was the last word on it (emptied while a query failed)
      if (ok && failing) {
        if (noAddress === undefined) report(undefined)
        else if (said !== 'noAddress') report({ code: discovery.emptyCode ?? noAddress, noAddress: true })
      }
      if (ok) failing = false
      if (this.#started) this.#endWarmupOnceDecided()
    })
  }

  get config (): PoolConfig { return this.pool.config }

  /** Every discovered target now, as plain data (those a warming pool keeps from the one it replaced included). */
  discoveredTargets (): DiscoveredTarget[] {
    return [...this.#discoveries.flatMap((d, i) => {
      const spec = this.config.discover[i]!
      return d.urls.map((url) => ({ key: discoveryKey(d.spec), url, weight: spec.weight, backup: spec.backup, dns: spec.dns }))
    }), ...this.#warmup.values()]
  }

  /** The warm-up targets this pool keeps from the one it replaced (the same objects discoveredTargets() lists). */
  warmupTargets (): DiscoveredTarget[] { return [...this.#warmup.values()] }

  /** The addresses each discovered name has now, by discoveryKey (plain data for the pool a reload builds next). */
  discoveredAddresses (): Map<string, AddressState> {
    return new Map(this.#discoveries.map((d) => [discoveryKey(d.spec), d.state]))
  }

  /** The discovered names (discoveryKey) whose lookups have decided their set, an empty one too. */
  decidedNames (): Set<string> {
    return new Set(this.#discoveries.filter((d) => d.decided).map((d) => discoveryKey(d.spec)))
  }

  isFailureStatus (status: number): boolean {
    return this.#failureStatuses.has(status)
  }

  /**
   * Takes a new target list with the same settings: a target whose URL, weight and backup flag are unchanged
   * stays the same object (connections, health, ejection); the rest are added or drained.
   */
  updateTargets (config: PoolConfig): void {
    this.#setTargets(config)
  }

  /** Fixed targets plus every discovered address; an address that joins later waits for a passing check. */
  #setTargets (config: PoolConfig): void {
    const current = new Map(this.pool.targets.map((t) => [targetKey(t), t]))
    // a target whose weight or backup flag changed is a new object for the same upstream: it shares the old copy's
    // counts, load and connections; so does one added back while a removed (or inherited) copy still has requests
    const sharedByUrl = this.pool.sharedByUrl()
    const currentUrls = new Set(this.pool.targets.map((t) => t.url))
    const shared = (url: string): SharedTarget | undefined => adoptShared(sharedByUrl, currentUrls, url)
    // each target once, by id (host:port), the first one written winning: two names answering the same address (or
    // a name and a fixed target, whatever their weights) share one target, or balancers would give it a double share,
    // a retry could not tell it was already tried, and /status and metrics would list one id twice
    const next = new Map<string, Target>()
    for (const tc of config.targets) {
      const id = idOf(tc)
      if (!next.has(id)) next.set(id, current.get(targetKey(tc)) ?? new Target(tc, config, undefined, shared(tc.url)))
    }
    // an address joins when its id is new to the pool: one that a removed fixed target (or another name) served
    // until now is no newcomer, and keeps its status (health, an operator's disable) under its new settings
    const servedIds = new Set(this.pool.targets.map((t) => t.id))
    const joining = new Set<Target>()
    for (const [i, discovery] of this.#discoveries.entries()) {
      const spec = config.discover[i]!
      for (const url of discovery.urls) {
        const tc = { url, weight: spec.weight, backup: spec.backup }
        const id = idOf(tc)
        if (next.has(id)) continue
        let target = current.get(targetKey(tc))
        // a warm-up target (a fixed one, or a renamed name's) is not this name's: it would send its Host and TLS name.
        // The name's own target takes its place for good: the warm-up copy, closed once idle, must never come back
        // (a later answer without this address while another name is still undecided would re-add it)
        if (target !== undefined && this.#warmup.has(target)) {
          this.#warmup = new Map([...this.#warmup].filter(([kept]) => kept !== target))
          target = undefined
        }
        if (target === undefined) {
          target = new Target(tc, config, spec.dns, shared(url))
          const replaced = !this.#started && this.#replacedIds.has(id)
          if (!servedIds.has(id) && !replaced && (this.#started || this.#carriedNames.has(discovery))) joining.add(target)
        }
        next.set(id, target)
      }
    }
    for (const t of this.#warmup.keys()) if (!next.has(t.id)) next.set(t.id, t)
    const checked = this.health !== undefined
    if (checked) for (const t of joining) this.health.joinsUnchecked(t)
    // a target whose weight or backup flag changed is a new object, but the same upstream: it keeps its status
    // (an operator's drain or disable, its health, its ejection), as it would in a pool rebuilt by the reload
    const carried = statusByUrl(this.pool)
    this.pool.setTargets([...next.values()], config, (t) => (checked && joining.has(t) ? { ...INITIAL_STATUS, healthy: false } : carried.get(t.url) ?? (this.#started ? undefined : this.#replacedStatus?.(t))))
  }


  /**
   * The replaced pool's discovered targets, kept while this one's names are looked up (a reload renamed one), give
   * way once every name has answered. A failing resolver keeps them, as a failed lookup keeps a name's last known
   * set: a rename during a DNS outage must not empty a serving pool. An empty answer decides only once it is
   * confirmed, as it would to empty any set.
   */
  #endWarmupOnceDecided (): void {
    if (this.#warmup.size === 0 || this.#retired || !this.#discoveries.every((d) => d.decided)) return
    this.#warmup = new Map()
    this.#setTargets(this.config)
  }

  /** Starts discovery and health checks; resolves once the first lookups and the first round of checks are done. */
  start (): Promise<void> {
    if (this.#starting !== undefined) return this.#starting
    // checks start at once (in this call) when there is nothing to look up first
    const begin = (): Promise<void> => {
      // retired while its first lookups ran (a reload right after another): nothing may start on a retired pool
      if (this.#retired) return Promise.resolve()
      this.#endWarmupOnceDecided()
      this.#started = true
      this.health?.start()
      return this.health?.firstRound() ?? Promise.resolve()
    }
    this.#starting = this.#discoveries.length === 0 ? begin() : Promise.all(this.#discoveries.map((d) => d.start())).then(begin)
    return this.#starting
  }

  /**
   * A reload no longer uses this pool: checks and lookups stop at once, but requests admitted before the reload
   * (a body still arriving, a retry still to come) keep its targets until they end; then the targets close and
   * the breaker stops its timers. A request that never ends cannot hold them past twice the request deadline.
   * Resolves then (open WebSocket tunnels may outlive it: they end with their connections).
   */
  retire (): Promise<void> {
    this.#retired = true
    for (const d of this.#discoveries) d.stop()
    this.health?.stop()
    let done = false
    const over = Promise.withResolvers<void>()
    const finish = (): void => {
      if (done) return
      done = true
      this.clock.clearTimeout(deadline)
      this.pool.setTargets([])
      this.breaker.shutdown()
      over.resolve()
    }
    const deadline = this.clock.setTimeout(finish, this.config.timeouts.requestMs * 2 + 1000)
    deadline.unref()
    void this.budget.whenIdle().then(finish)
    return over.promise
  }

  async close (): Promise<void> {
    this.#retired = true
    for (const d of this.#discoveries) d.stop()
    this.health?.stop()
    this.breaker.shutdown()
    await this.pool.close()
  }
}

/** The pools a new config runs with, and the runtimes it no longer needs (to close once their requests end). */
export interface PoolSet {
  pools: Map<string, PoolRuntime>
  retired: PoolRuntime[]
}

/**
 * Builds every pool, reusing what `previous` (the pools a reload replaces) already runs: an unchanged pool keeps
 * its runtime and takes the new target list; a pool whose settings changed is built anew, its targets keeping
 * their status by URL; removed pools are retired.
 */
export function buildPools (config: ResolvedConfig, options: RuntimeOptions = {}, previous?: ReadonlyMap<string, PoolRuntime>): PoolSet {
  const pools = new Map<string, PoolRuntime>()
  const retired: PoolRuntime[] = []
  for (const [name, poolConfig] of Object.entries(config.pools)) {
    const before = previous?.get(name)
    if (before !== undefined && poolSettingsJson(before.config) === poolSettingsJson(poolConfig)) {
      before.updateTargets(poolConfig)
      pools.set(name, before)
      continue
    }
    if (before !== undefined) retired.push(before)
    let carried: Pick<RuntimeOptions, 'carriedStatus' | 'carriedShared' | 'carriedCurrent' | 'carriedAddresses' | 'carriedDecided' | 'warmupTargets' | 'carriedLag' | 'carriedProbed' | 'carriedVerified'> = {}
    if (before !== undefined) {
      // a name both pools discover starts from its last addresses; every other discovered target (a renamed name's,
      // or those the replaced pool itself still kept from its own predecessor) serves until the first lookups end
      const keys = new Set(poolConfig.discover.map(discoveryKey))
      const carriedAddresses = new Map([...before.discoveredAddresses()].filter(([key]) => keys.has(key)))
      // a warm-up copy keyed by a name the reload keeps (renamed a→b→a during an outage) stays until that name decides
      const decided = before.decidedNames()
      const warming = new Set(before.warmupTargets())
      const warmupTargets = before.discoveredTargets().filter((d) => !carriedAddresses.has(d.key) || (warming.has(d) && !decided.has(d.key)))
      // fixed targets that gave way to a name the reload named serve until the names first answer too, as a renamed
      // name's do; one removed beside names the pool kept is gone at once, as in a pool the reload did not rebuild
      if (poolConfig.discover.some((spec) => !carriedAddresses.has(discoveryKey(spec)))) {
        const listed = new Set(poolConfig.targets.map(idOf))
        for (const t of before.config.targets) if (!listed.has(idOf(t))) warmupTargets.push({ key: '', url: t.url, weight: t.weight, backup: t.backup, dns: undefined })
      }
      // what the replaced pool's checks learnt holds only for the same probe (path, expected statuses)
      const probeKept = sameProbe(before.config, poolConfig)
      carried = { carriedLag: before.health?.lagReports(), carriedProbed: probeKept ? before.health?.probedUrls() : undefined, carriedVerified: probeKept ? before.health?.verifiedUrls() : undefined, carriedStatus: statusByUrl(before.pool), carriedShared: before.pool.sharedByUrl(), carriedCurrent: new Set(before.pool.targets.map((t) => t.url)), carriedAddresses, carriedDecided: before.decidedNames(), warmupTargets }
    }
    const runtime = new PoolRuntime(name, poolConfig, { ...options, ...carried })
    // the operator's switchover (and a manual-failback failover) is state like a drain: a new setting must not undo it
    runtime.pool.keepHold(before?.pool.hold, before?.pool.failedOver)
    // requests and tunnels still running on the replaced pool's targets stay visible (and disable-able) here
    if (before !== undefined) runtime.pool.inherit(before.pool)
    pools.set(name, runtime)
  }
  for (const [name, runtime] of previous ?? []) if (!Object.hasOwn(config.pools, name)) retired.push(runtime)
  return { pools, retired }
}

/**
 * A new pool's first targets: the fixed ones, the addresses a replaced pool's discovery of the same name knew, and
 * the replaced pool's warm-up targets (with their status). An address two names (or a name and a fixed target) share
 * is one target, as in #setTargets. A function of its own, so the hand-over's scope ends with it.
 */
function initialTargets (config: PoolConfig, discoveries: readonly DnsDiscovery[], options: RuntimeOptions): { targets: Target[]; warmup: Map<Target, DiscoveredTarget> } {
  const ids = new Set<string>()
  const fresh = (tc: TargetConfig): boolean => {
    const id = idOf(tc)
    if (ids.has(id)) return false
    ids.add(id)
    return true
  }
  const carried = options.carriedShared
  const shared = carried && ((url: string) => adoptShared(carried, options.carriedCurrent, url))
  const targets = config.targets.filter(fresh).map((t) => new Target(t, config, undefined, shared?.(t.url)))
  for (const [i, discovery] of discoveries.entries()) {
    const spec = config.discover[i]!
    for (const url of discovery.urls) {
      const tc = { url, weight: spec.weight, backup: spec.backup }
      if (fresh(tc)) targets.push(new Target(tc, config, spec.dns, shared?.(url)))
    }
  }
  const warmup = new Map((options.warmupTargets ?? []).filter(fresh).map((d) => [new Target(d, config, d.dns, shared?.(d.url)), d]))
  targets.push(...warmup.keys())
  return { targets, warmup }
}

/** Each target's status by URL (the first target with a URL wins, as a lookup by URL would find it). */
function statusByUrl (pool: UpstreamPool): Map<string, TargetStatus> {
  const statuses = new Map<string, TargetStatus>()
  for (const t of pool.targets) if (!statuses.has(t.url)) statuses.set(t.url, pool.status(t))
  return statuses
}

// a function of its own, so the lookup's scope holds the map alone
/**
 * Whether a rebuilt pool's checks ask what the replaced pool's asked (path, expected statuses): the health they found
 * stands until the next probe, else a new question gets its first answers at once.
 */
function sameProbe (before: PoolConfig, next: PoolConfig): boolean {
  const asked = (c: PoolConfig): string => JSON.stringify([c.healthCheck?.path, c.healthCheck?.expectStatus])
  return before.healthCheck !== undefined && next.healthCheck !== undefined && asked(before) === asked(next)
}

function statusLookup (carried: ReadonlyMap<string, TargetStatus> | undefined, checked: boolean): ((t: Target) => TargetStatus | undefined) | undefined {
  return carried && ((t) => {
    const status = carried.get(t.url)
    // only health checks mark a target unhealthy or lagging, and only they bring it back: a pool that no longer
    // has them must not keep their verdict, or the target would stay out for good
    return status !== undefined && !checked && (!status.healthy || status.lagging) ? { ...status, healthy: true, lagging: false } : status
  })
}


/** A discovered name is the same one when its name, port and protocol are: then its last answer still applies. */
function discoveryKey (spec: { dns: string; port: number; protocol?: string }): string {
  return `${canonicalDnsName(spec.dns)} ${spec.port} ${spec.protocol ?? 'http'}`
}

/** A target's id (host:port), as metrics, /status and the admin API name it: one target per id in a pool. */
function idOf (t: { url: string }): string {
  return targetIdOf(new URL(t.url))
}

function targetKey (t: Pick<Target, 'weight' | 'backup'> & ({ url: string } | TargetConfig)): string {
  return `${new URL(t.url).origin} ${t.weight} ${t.backup}`
}

/**
 * The shared state a new copy of `url` takes: the running copy's (counts, load and connections carry over), or a
 * removed copy's that still carries requests (load and connections carry over; counts start again, as the target's
 * metric series did when it was removed).
 */
function adoptShared (shared: ReadonlyMap<string, SharedTarget>, current: ReadonlySet<string> | undefined, url: string): SharedTarget | undefined {
  const origin = new URL(url).origin
  const found = shared.get(origin)
  if (found !== undefined && current?.has(origin) !== true) found.restartCounts()
  return found
}
