// Builds a gateway from a resolved config without listening: tests and main.ts both start here.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyListenOptions } from 'fastify'
import type { DestinationStream, Logger } from 'pino'
import { isLoopback } from './admin/auth.ts'
import { EventFeed } from './admin/event-feed.ts'
import { registerDashboard, toDashboardStatus } from './admin/dashboard.ts'
import type { LiveStream } from './admin/live.ts'
import { TrafficHistory } from './admin/history.ts'
import { buildAdmin } from './admin/server.ts'
import { buildStatus, describedRoutes, tunnelsOf } from './admin/status.ts'
import type { GatewayEvent, StatusDocument } from './admin/status-types.ts'
import { describeDiff, restartRequiredChanges, type ConfigDiff } from './config/diff.ts'
import { configHash } from './config/hash.ts'
import { loadConfigFile } from './config/load.ts'
import { Reloader, type ReloadResult, type ReloadTrigger } from './config/reloader.ts'
import type { ResolvedConfig } from './config/schema.ts'
import { watchConnectionDrops } from './lifecycle/connection-drops.ts'
import { drainAndClose } from './lifecycle/shutdown.ts'
import { adminTokenOf, secretOf, START_WARNINGS } from './lifecycle/start-warnings.ts'
import { createLogger, droppedLogBytes } from './logger.ts'
import { GatewayMetrics } from './metrics/metrics.ts'
import type { PoolSnapshot } from './metrics/snapshot.ts'
import { createServer } from './node-http.ts'
import { markExpectsContinue, ProxyHandler } from './proxy/forward.ts'
import { TunnelSet } from './proxy/tunnels.ts'
import { createConnectHandler, createUpgradeHandler } from './proxy/upgrade.ts'
import { LAZY_SCHEMA_COMPILERS } from './fastify-compilers.ts'
import { createClientErrorHandler } from './proxy/client-error.ts'
import { clientAddress } from './proxy/headers.ts'
import { ERRORS } from './errors.ts'
import { abortMirrors, buildPlans, type PlanEvents } from './release/plans.ts'
import { RoutingTable, type Route } from './routing/table.ts'
import { monotonicMs, systemClock, type Clock, type RandomSource } from './runtime.ts'
import type { GatewayState, RouteObserver, RouteObservers } from './state.ts'
import { buildPools, type PoolObserver, type PoolRuntime, type RuntimeOptions } from './upstream/registry.ts'
import { isAvailable } from './upstream/status.ts'
import type { Target } from './upstream/target.ts'

export interface GatewayOptions {
  /** Log to this stream instead of the configured destination (tests collect lines this way). */
  logStream?: DestinationStream
  logger?: Logger
  random?: RandomSource
  clock?: Clock
  /** Where the config came from: reloads read it again (shown in /status). */
  configFile?: string
  /** How a reload reads the config (default: loadConfigFile(configFile)); told what triggered it. */
  load?: (trigger: ReloadTrigger) => Promise<ResolvedConfig>
  /** How long a reload waits for a .ts, .mjs or .js config to import (default DEFAULT_LOAD_TIMEOUT_MS, 30 s). */
  configLoadTimeoutMs?: number
  /** Node's process metrics beside the gateway's own (default true; tests turn them off). */
  defaultMetrics?: boolean
  /** Name servers for DNS-discovered targets (default: the system's). */
  dnsServers?: readonly string[]
  /** The environment read for SWITCHYARD_ADMIN_TOKEN (default process.env). */
  env?: NodeJS.ProcessEnv
  /** Told every reload's result, whatever triggered it (after the gateway has logged and counted it). */
  onReload?: (result: ReloadResult) => void
  /**
   * Where each round-robin pool starts its sequence (default Math.random: gateways given one config together do not
   * all send their first requests to one target). Tests that count on the first target pass `() => 0`.
   */
  roundRobinStart?: RandomSource
}

export interface Gateway {
  readonly app: FastifyInstance
  readonly logger: Logger
  readonly proxy: ProxyHandler
  /** The config in force now (changes on reload). */
  readonly config: ResolvedConfig
  readonly metrics: GatewayMetrics | undefined
  readonly events: EventFeed
  pools (): ReadonlyMap<string, PoolRuntime>
  readiness (): StatusDocument['readiness']
  status (): StatusDocument
  /** Listens on the configured (or given) address; resolves to the bound URL. */
  listen (address?: { host?: string; port?: number }): Promise<string>
  /** Starts the admin listener (config.admin, or the given address); resolves to its URL. */
  listenAdmin (address?: { host?: string; port?: number }): Promise<string>
  /** Loads the config again and switches to it if valid; the running config stays otherwise. */
  reload (trigger?: ReloadTrigger): Promise<ReloadResult>
  /** The graceful way out (SIGTERM): not ready at once, serve delayMs more, stop accepting, finish in-flight. */
  shutdown (): Promise<void>
  /** Closes everything now (tests, or after shutdown()). */
  close (): Promise<void>
}

// Fastify's default: longer than the usual load balancer's idle timeout, so the gateway is not the side that closes
const KEEP_ALIVE_TIMEOUT_MS = 72_000
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

export function buildGateway (initialConfig: ResolvedConfig, options: GatewayOptions = {}): Gateway {
  let config = initialConfig
  const logger = options.logger ?? createLogger(config.log, options.logStream)
  const clock = options.clock ?? systemClock
  const env = options.env ?? process.env
  // the environment's token wins over the config's; the config's follows reloads
  // trimmed: a Kubernetes Secret made with --from-file ends in a newline no Authorization header can carry (the
  // start refuses a value that is only whitespace: src/cli/start-errors.ts). Empty is unset, as the start takes it
  // (compose's `${UNSET}`). Whitespace only with no config token (an embedding process, which nothing refuses): a
  // token no call can match, never an open admin listener.
  const adminToken = (): string | undefined => adminTokenOf(config, env)
  const metrics = config.metrics.enabled ? new GatewayMetrics({ defaultMetrics: options.defaultMetrics ?? true }) : undefined
  const events = new EventFeed(logger, clock)
  // the dashboard's per-second traffic rings (req/s, errors, p99 per pool and target); on the wall clock, as
  // they only describe traffic to people and never decide anything
  const history = new TrafficHistory()
  // targets no running pool has (removed by a reload or a DNS answer, or of a pool a reload replaced): once their id
  // has left the running pool too, its series and history are forgotten, and the requests they still finish are
  // counted nowhere, or each address a rolling deploy ever used would stay exported
  const leftTargets = new WeakSet<Target>()
  const stillRunning = (pool: string, target: Target): boolean => !leftTargets.has(target) ||
    proxy.state.pools.get(pool)?.pool.targets.some((t) => t.id === target.id) === true
  const runtimeOptions: RuntimeOptions = {
    clock,
    ...(options.random ? { random: options.random } : {}),
    roundRobinStart: options.roundRobinStart ?? Math.random,
    ...(options.dnsServers ? { dnsServers: options.dnsServers } : {}),
    observe: (pool: string) => poolObserver(metrics, history, pool, stillRunning),
  }
  const watching = new Map<PoolRuntime, () => void>()
  let started = false
  let readiness: StatusDocument['readiness'] = 'starting'
  let loadedAt = clock.now()
  // The settings of the running config that wait for a restart (they differ from the config at start, which the
  // listeners, the parser, the metrics and the log destination were set up with): shown in /status and repeated by
  // every reload until one puts them back.
  let restartPending: readonly string[] = []

  // signs read-your-writes cookies: the same on every replica, or stickiness breaks across them
  const secretFor = (c: ResolvedConfig): string => {
    const configured = secretOf(c, env)
    if (configured !== undefined) return configured
    generatedSecret ??= randomBytes(32).toString('base64url')
    // said once, when the first split route runs on the generated key: at start, or on the reload that adds it
    if (!warnedNoSecret && c.routes.some((r) => r.reads !== undefined)) {
      warnedNoSecret = true
      logger.warn(START_WARNINGS.noSecret)
    }
    return generatedSecret
  }
  let generatedSecret: string | undefined
  let warnedNoSecret = false
  // A plan's route's series, for its events: none for a route a reload removed, whose plan outlives it while its
  // requests and mirror copies finish (its series were dropped then, and must not come back: for good, as no later
  // reload would drop them again). A route a reload moved to another pool counts on: these series are the route's
  // (shared by every pool's binding), reached through the pool it has now, never the (route, old pool) pair dropped.
  let liveRoutes: { table: RoutingTable; pools: Map<string, string> } | undefined
  const seriesOf = (route: Route) => {
    if (metrics === undefined) return undefined
    const table = proxy.state.table
    if (liveRoutes?.table !== table) liveRoutes = { table, pools: new Map(table.routes.map((r) => [r.label, r.pool])) }
    const pool = liveRoutes.pools.get(route.label)
    return pool === undefined ? undefined : metrics.route(route.label, pool)
  }
  const planEvents: PlanEvents = {
    fallback: (route, active) => events.record(active ? 'warn' : 'info', { kind: 'split', route: route.label, message: active ? 'no replica available or none answered: reads go to the primary' : 'a replica answered: reads go to the replicas' }),
    readToPrimary: (route, reason) => seriesOf(route)?.readToPrimary(reason),
    rollback: (route, e) => {
      seriesOf(route)?.canaryRollback()
      events.record('error', { kind: 'canary', route: route.label, message: `canary rolled back: ${e.errors} errors in ${e.requests} requests (${e.errorRatePercent.toFixed(1)}%), weight ${e.previousWeight} → 0` }, { rollback: e })
    },
    mirror: (route, outcome) => seriesOf(route)?.mirror(outcome),
    weight: (route, weight, source) => events.record('info', { kind: 'canary', route: route.label, message: `canary weight ${weight} (${source})` }),
  }
  // The routing table and route plans are built before any running pool is touched: what refuses a config must
  // refuse it while the config in force is still whole.
  const routingFor = (next: ResolvedConfig, previous?: GatewayState): Pick<GatewayState, 'table' | 'plans'> => {
    const table = new RoutingTable(next.routes)
    return { table, plans: buildPlans(next, table.routes, { secret: secretFor(next), clock, random: options.random ?? Math.random, events: planEvents }, previous?.plans) }
  }
  const stateFor = (next: ResolvedConfig, { table, plans }: Pick<GatewayState, 'table' | 'plans'>, pools: ReadonlyMap<string, PoolRuntime>): GatewayState => {
    // a replica pool's lag limit: the strictest maxLagMs of the routes that read from it (one pass over the
    // routes, not one per pool: 100 pools × 1,000 routes was ~10 ms of start-up)
    const lagLimits = new Map<string, number>()
    for (const r of next.routes) {
      if (r.reads?.maxLagMs !== undefined) lagLimits.set(r.reads.pool, Math.min(r.reads.maxLagMs, lagLimits.get(r.reads.pool) ?? Infinity))
    }
    for (const [name, runtime] of pools) runtime.health?.setMaxLagMs(lagLimits.get(name))
    return { table, pools, plans, ...(metrics ? { observers: new RouteObserverCache(metrics) } : {}) }
  }
  const adopt = (runtime: PoolRuntime): void => {
    if (watching.has(runtime)) return
    watching.set(runtime, events.watchPool(runtime))
    // a retired pool emptying itself must not bring its forgotten history back
    const track = (): void => {
      if (proxy.state.pools.get(runtime.name) === runtime) history.track(runtime.name, runtime.pool.targets.map((t) => t.id))
    }
    track()
    runtime.pool.on('targets', track)
    runtime.pool.on('targets', (_added, removed) => {
      for (const t of removed) leftTargets.add(t)
      // a retired pool's targets are the running pool's business (apply() forgets what a rebuild dropped)
      if (proxy.state.pools.get(runtime.name) !== runtime) return
      const kept = new Set(runtime.pool.targets.map((t) => t.id))
      for (const t of removed) {
        if (kept.has(t.id)) continue
        metrics?.forgetTarget(runtime.name, t.id)
        history.forget(runtime.name, t.id)
      }
    })
    if (started) void runtime.start()
  }
  /** Retired runtimes whose names no running pool had then: /status lists those still finishing requests. */
  const removedPools = new Set<PoolRuntime>()
  const retire = (runtime: PoolRuntime): void => {
    const removed = !proxy.state.pools.has(runtime.name)
    watching.get(runtime)?.()
    watching.delete(runtime)
    for (const t of runtime.pool.targets) leftTargets.add(t)
    const over = runtime.retire()
    if (!removed) return
    removedPools.add(runtime)
    // its last request ended: forgotten, unless tunnels outlive it (then when /status finds none left)
    void over.then(() => { if (tunnelsOf(runtime) === 0) removedPools.delete(runtime) })
    if (!proxy.state.pools.has(runtime.name)) history.forget(runtime.name)
  }

  const initialPools = buildPools(config, runtimeOptions).pools
  const proxy = new ProxyHandler(stateFor(config, routingFor(config), initialPools), {
    logger,
    trustedProxies: config.server.trustedProxies,
    maxUrlBytes: config.server.maxUrlBytes,
    dropUnderscoreHeaders: config.server.dropUnderscoreHeaders,
    via: config.server.via,
    ...(metrics !== undefined ? { refusals: metrics } : {}),
  })
  for (const runtime of initialPools.values()) adopt(runtime)
  // a removed pool a tunnel outlived is forgotten when its last tunnel closes, not when /status is next read (it
  // held the pool's targets and clients for as long as nobody asked)
  const tunnels = new TunnelSet(() => { if (removedPools.size > 0) prunedRemovedPools() })
  metrics?.setSource({ pools: () => snapshot(proxy.state.pools, clock), tunnels: () => tunnels.open, logDroppedBytes: () => droppedLogBytes(logger) })
  metrics?.setConfigInfo(() => configHash(config))

  const apply = (next: ResolvedConfig, _diff: ConfigDiff): void => {
    // the reloader asks refuse() (below) right before this: a closed or draining gateway never gets here
    if (closed) throw new Error('the gateway is closed')
    const previous = proxy.state
    const routing = routingFor(next, previous)
    // a kept pool's runtime takes its new targets in place: remember which it had
    const targetsBefore = new Map([...previous.pools].map(([name, r]) => [name, r.pool.targets]))
    const { pools, retired } = buildPools(next, runtimeOptions, previous.pools)
    // one assignment: requests already in flight keep the state (routes, pools) they started with
    proxy.setState(stateFor(next, routing, pools))
    // the replaced table's route map goes with it (seriesOf builds the next one at the next plan event, if any comes)
    liveRoutes = undefined
    for (const runtime of pools.values()) adopt(runtime)
    for (const runtime of retired) {
      const successor = pools.get(runtime.name)
      if (successor !== undefined && successor !== runtime) events.poolReplaced(runtime, successor)
      retire(runtime)
    }
    if (metrics !== undefined) {
      // series are labelled as the routing table names routes (name, else id) and targets (host:port)
      const labels = new Set(proxy.state.table.routes.map((r) => r.label))
      for (const route of previous.table.routes) if (!labels.has(route.label)) metrics.forgetRoute(route.label)
      for (const runtime of retired) if (!pools.has(runtime.name)) metrics.forgetPool(runtime.name)
      // a kept route no longer sending to a pool that stays (moved, canary or replicas taken away) drops that pair
      for (const route of proxy.state.table.routes) {
        const rc = next.routes[route.index]
        const sendsTo = new Set([route.pool, rc?.canary?.pool, rc?.reads?.pool])
        for (const pool of metrics.routePools(route.label)) if (!sendsTo.has(pool)) metrics.forgetRoutePool(route.label, pool)
      }
    }
    for (const [name, before] of targetsBefore) {
      const after = pools.get(name)
      if (after === undefined) continue
      const kept = new Set(after.pool.targets.map((t) => t.id))
      for (const t of before) {
        if (kept.has(t.id)) continue
        metrics?.forgetTarget(name, t.id)
        history.forget(name, t.id)
      }
    }
    const tokenBefore = adminToken()
    applySettings(next)
    config = next
    // "the old token stops working at once": streams it opened too
    if (adminToken() !== tokenBefore) live?.disconnectAll()
    loadedAt = clock.now()
    restartPending = restartRequiredChanges(initialConfig, next)
  }
  // The settings a running gateway applies in place (the rest wait for a restart: RESTART_REQUIRED_SETTINGS); the
  // admin token, the secret and the shutdown plan are read where they are used.
  const applySettings = (next: ResolvedConfig): void => {
    if (options.logger === undefined) logger.level = next.log.level
    proxy.configureFront({ trustedProxies: next.server.trustedProxies, dropUnderscoreHeaders: next.server.dropUnderscoreHeaders, via: next.server.via, maxUrlBytes: next.server.maxUrlBytes })
    app.server.headersTimeout = next.server.headersTimeoutMs
    app.server.requestTimeout = next.server.requestTimeoutMs
    app.server.maxConnections = next.server.maxConnections || Infinity
  }
  /** The last reload was rejected (the event feed's last word on the config says so until one succeeds). */
  let lastReloadRejected = false
  /** A reload's result said where operators look: the log, the event feed, the reload counter. */
  const logReload = (result: ReloadResult): void => {
    // no fault of the config: not counted, logged or fed as a rejected one (which would page an operator)
    if (result.refused !== undefined) return logger.info({ trigger: result.trigger }, 'reload skipped: the gateway is shutting down')
    // nor is a file the gateway could not read for its own shortage (EMFILE...): an error of the gateway's, retried
    if (result.localFailure !== undefined) return logger.error({ trigger: result.trigger, code: result.localFailure, problems: result.problems }, `reload failed: the config could not be read (${result.localFailure}); the running config stays`)
    metrics?.configReload(result.result)
    const pending = result.restartRequired !== undefined && result.restartRequired.length > 0 ? { restartRequired: result.restartRequired } : {}
    const rejectedBefore = lastReloadRejected
    lastReloadRejected = result.result === 'error'
    if (result.result === 'error') {
      events.record('error', { kind: 'reload-rejected', message: 'config rejected; the running config stays', problems: result.problems ?? [] }, { trigger: result.trigger, ...pending })
    } else if (result.result === 'success' && result.diff !== undefined) {
      events.record('info', { kind: 'reload', message: `config reloaded: ${describeDiff(result.diff)}` }, { trigger: result.trigger, hash: result.hash, diff: result.diff })
    } else if (rejectedBefore) {
      // the rejected config was put right by putting the running one back: the feed's last word on the config must
      // not stay the rejection (the reload gauge is back to 1 already)
      events.record('info', { kind: 'reload', message: 'config unchanged: the running config is back in place of the rejected one' }, { trigger: result.trigger, hash: result.hash, ...pending })
    } else {
      logger.info({ trigger: result.trigger, hash: result.hash, ...pending }, pending.restartRequired !== undefined ? `config unchanged, restart needed for ${pending.restartRequired.join(', ')}` : 'config unchanged')
    }
  }
  /** Settles when close() begins: the answer of admin reloads still under way (the reloader refuses their apply). */
  const adminClosing = Promise.withResolvers<ReloadResult>()
  const reloader = new Reloader({
    load: options.load ?? ((trigger) => {
      if (options.configFile === undefined) throw new Error('this gateway was not started from a config file')
      // a file event for the bytes that gave the running config changed nothing: it runs nothing (an explicit
      // reload runs the config again, which reads the files and modules it uses afresh)
      return loadConfigFile(options.configFile, { timeoutMs: options.configLoadTimeoutMs, reuse: trigger === 'file' ? config : undefined })
    }),
    apply,
    current: () => config,
    started: initialConfig,
    // a draining gateway takes no reload: its new targets would take the requests of a gateway on its way out
    refuse: () => (closed || shuttingDown !== undefined ? 'shutting_down' : undefined),
    onResult: (result) => {
      logReload(result)
      options.onReload?.(result)
    },
  })

  // The gateway owns the server's 'request' event: every request goes straight to the proxy, with no Fastify
  // request/reply objects, routing or hooks in front of it (Fastify still owns listen, close and its hooks).
  let admitRequest: (req: IncomingMessage, res: ServerResponse) => void = (req, res) => proxy.handle(req, res)
  const app = Fastify({
    schemaController: LAZY_SCHEMA_COMPILERS,
    logger: false, // one access-log line per request is written by the proxy itself
    // the proxy answers while closing (requests served with Connection: close, a late upgrade its 503 shutting_down)
    return503OnClosing: false,
    // malformed requests, oversized headers and slowloris: the catalogue's answers (src/proxy/client-error.ts)
    // one access-log line (no request id: there was no request) and one refusal counted for each answer, as nginx
    // logs its 400s and 408s: an attack of malformed or slow requests is seen
    clientErrorHandler: createClientErrorHandler((code, socket) => {
      // clientIp as every request's line has it (the peer: there are no headers to trust), remoteAddress as before
      logger.info({ status: ERRORS[code].status, error: code, clientIp: clientAddress(socket.remoteAddress), remoteAddress: socket.remoteAddress }, 'request')
      metrics?.refused(code)
    }),
    forceCloseConnections: 'idle',
    serverFactory: () => {
      const server = createServer({
        // Only WebSocket upgrades are tunnelled; any other Upgrade (e.g. h2c) is an ordinary request, proxied
        // without its hop-by-hop Upgrade header, whose answer closes the connection (src/proxy/headers.ts).
        // An HTTP/1.0 request's Upgrade is ignored so (RFC 9110 §7.8: MUST), not refused as a handshake.
        // (Node ≥ 22.21 / 24.9; older Node sends every upgrade to the tunnel.)
        shouldUpgradeCallback: (req) => req.httpVersion === '1.1' && String(req.headers.upgrade ?? '').toLowerCase() === 'websocket',
        // Node's parser answers 431 past this (request line and headers together)
        maxHeaderSize: config.server.maxHeaderBytes,
        // an HTTP/1.1 request without Host is the front half's 400 (src/proxy/front.ts), with its JSON body, request
        // id, access-log line and count: Node's own is a bare 400 nobody sees
        requireHostHeader: false,
        // Node checks headersTimeout/requestTimeout only this often (30 s by default), closing every expired
        // connection in one synchronous sweep: often enough to hold the timeouts, and small sweeps (/100 against
        // /20 cut a normal client's p99 beside 2,000 slowloris from 19.8 to 10.1 ms: bench/hardening-results.md)
        connectionsCheckingInterval: Math.max(50, Math.min(30000, Math.floor(Math.min(config.server.headersTimeoutMs, config.server.requestTimeoutMs || Infinity) / 100))),
      } as ServerOptions, (req, res) => admitRequest(req, res))
      // slow clients: all headers within headersTimeoutMs (slowloris), the whole request within requestTimeoutMs
      server.headersTimeout = config.server.headersTimeoutMs
      server.requestTimeout = config.server.requestTimeoutMs
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
      server.setTimeout(0)
      // the public listener only: the admin listener keeps taking probes and operators when clients fill this one
      // (Node's check is `_connections >= maxConnections`, so no limit is Infinity, never 0)
      server.maxConnections = config.server.maxConnections || Infinity
      watchConnectionDrops(server, logger, metrics, clock)
      return server
    },
  })
  // overload: a fast 503 overloaded with Retry-After instead of requests that time out
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = config.server
  const overloadWatched = maxEventLoopDelayMs > 0 || maxHeapUsedBytes > 0 || maxRssBytes > 0
  if (overloadWatched) {
    // the plugin samples on its own timer; its onRequest hook never runs (Fastify does not see requests), so
    // the gateway asks isUnderPressure() itself, a few comparisons per request
    // loaded only when asked for: a gateway without overload limits does not hold the plugin
    void app.register(import('@fastify/under-pressure'), { maxEventLoopDelay: maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes })
    admitRequest = (req, res) => {
      if (overloaded()) proxy.refuse(req, res, 'overloaded', 1)
      else proxy.handle(req, res)
    }
  }
  const overloaded = (): boolean => overloadWatched && (app as FastifyInstance & { isUnderPressure?: () => boolean }).isUnderPressure?.() === true
  const refusals = metrics !== undefined ? { refusals: metrics } : {}
  const clientIp = (req: IncomingMessage, socket: Socket): string => proxy.clientIpOf(req, socket)
  app.server.on('upgrade', createUpgradeHandler({ state: () => proxy.state, admit: (req, state, upgrade) => proxy.admit(req, state, upgrade), logger, tunnels, refuses: (req) => proxy.refusesUpgrade(req), cutting: () => proxy.phase === 'cutting', maxUrlBytes: () => proxy.maxUrlBytes, overloaded, clientIp, ...refusals }))
  app.server.on('connect', createConnectHandler({ logger, tunnels, clientIp, ...refusals }))
  // an Expect other than 100-continue: the catalogue's 417, logged and counted (Node's own is a bare 417 nobody sees)
  app.server.on('checkExpectation', (req, res) => proxy.refuse(req, res, 'expectation_failed'))
  // Expect: 100-continue comes to the gateway, not to Node's automatic 100 Continue: a request the gateway refuses
  // (no route, 413, an open breaker, overload) is answered without first being told to send its body. Node's
  // reading of the Expect decides (marked here), not one made again by the gateway.
  app.server.on('checkContinue', (req, res) => {
    markExpectsContinue(res)
    admitRequest(req, res)
  })
  app.addHook('preClose', (done) => {
    tunnels.destroyAll()
    done()
  })

  const status = (): StatusDocument => buildStatus({
    version: VERSION, configFile: options.configFile, config, configLoadedAt: loadedAt, configHash: configHash(config), restartRequired: restartPending, readiness, state: proxy.state, tunnels: tunnels.open,
    removedPools: prunedRemovedPools(),
  })
  const prunedRemovedPools = (): Set<PoolRuntime> => {
    for (const runtime of removedPools) if (runtime.budget.active === 0 && tunnelsOf(runtime) === 0) removedPools.delete(runtime)
    return removedPools
  }
  let admin: FastifyInstance | undefined
  /**
   * The admin listener as the loopback checks see it, once it listens: the address it bound (a name or a short form
   * such as 127.1 that resolves to loopback is guarded as loopback), and the host it was configured with (a name the
   * operator chose, served as a Host). Until then, guarded as loopback.
   */
  let adminHost: string | undefined
  let adminName: string | undefined
  /** The admin listener was bound with SO_REUSEPORT (server.reusePort at its start): a handover can share it. */
  let adminReusesPort = false
  let handingOver = false
  let dashboardRegistered = false
  /** The dashboard's event stream, once the admin listener has registered it. */
  let live: LiveStream | undefined
  let closed = false
  let shuttingDown: Promise<void> | undefined
  return {
    app,
    logger,
    proxy,
    get config () { return config },
    metrics,
    events,
    pools: () => proxy.state.pools,
    readiness: () => readiness,
    status,
    async listen (address = {}) {
      // reusePort (Node's listen option, passed through by Fastify): a new gateway can bind while this one drains
      const listenOptions = { host: address.host ?? config.server.host, port: address.port ?? config.server.port, reusePort: config.server.reusePort, backlog: config.server.backlog }
      const url = await app.listen(listenOptions as FastifyListenOptions)
      if (!started) {
        started = true
        history.start()
        // ready once every pool's first DNS lookups and first round of health checks are done (others at once); a
        // reload meanwhile may have put pools in their place, whose own first lookups are waited for in turn
        void (async () => {
          for (;;) {
            const pools = [...proxy.state.pools.values()]
            await Promise.all(pools.map((r) => r.start()))
            if ([...proxy.state.pools.values()].every((r) => pools.includes(r))) break
          }
          if (readiness === 'starting') readiness = 'ready'
        })()
      }
      return url
    },
    async listenAdmin (address = {}) {
      const host = address.host ?? config.admin.host
      admin ??= buildAdmin({
        status,
        events: (): readonly GatewayEvent[] => events.list(),
        pools: () => proxy.state.pools,
        readiness: () => readiness,
        overloaded,
        metrics,
        // an admin caller whose reload is still loading when the listener closes is answered 503 shutting_down
        // first (the listener's close destroys its connections: it got a reset, and never its answer)
        reload: (trigger) => Promise.race([reloader.reload(trigger), adminClosing.promise]),
        canaryRoutes: () => new Map([...(proxy.state.plans?.values() ?? [])].filter((p) => p.canary !== undefined).map((p) => [p.name, p])),
        hasRoute: (label) => proxy.state.table.routes.some((r) => r.label === label),
        token: adminToken,
        get host () { return adminHost },
        get name () { return adminName },
        handingOver: () => handingOver,
        logger,
      })
      if (!dashboardRegistered) {
        dashboardRegistered = true
        live = registerDashboard(admin, {
          logger,
          status: () => toDashboardStatus(status()),
          routes: () => describedRoutes(config.routes, proxy.state.table),
          events: () => events.list(),
          history,
          auth: {
            get tokenRequired () { return adminToken() !== undefined },
            get actionsDisabledReason () {
              return adminToken() === undefined && adminHost !== undefined && !isLoopback(adminHost) ? 'no admin token is set and the admin listener is not on loopback: set admin.token or SWITCHYARD_ADMIN_TOKEN to act from here' : undefined
            },
          },
        })
        const stream = live
        events.on('event', (e) => stream.publishEvent(e))
      }
      // a handover's new process binds the admin port beside the old one's, as it does the public port (server.reusePort)
      const url = await admin.listen({ host, port: address.port ?? config.admin.port, reusePort: config.server.reusePort } as FastifyListenOptions)
      adminReusesPort = config.server.reusePort
      const bound = admin.server.address()
      // set only once bound: a refused second listen leaves the running listener as it was judged
      adminHost = bound !== null && typeof bound === 'object' ? bound.address : host
      adminName = host
      if (adminToken() === undefined && !isLoopback(adminHost)) {
        logger.warn({ host }, START_WARNINGS.openAdmin)
      }
      return url
    },
    reload: (trigger = 'admin') => reloader.reload(trigger),
    shutdown () {
      // a second call (another signal, an operator) waits for the first drain rather than starting its own
      shuttingDown ??= drainAndClose({ server: app.server, proxy, tunnels, clock, logger, beginDrain: () => {
        readiness = 'draining'
        // A handover: the new process shares the admin port. New admin connections go to it from now on (an
        // operator's drain or reload reaching this one would be lost with it); idle ones are closed now, busy ones
        // after their answer, and an action still arriving is refused 503 so that its retry reaches the new
        // process; the dashboard's live streams reconnect there. Without reusePort the admin listener stays open
        // to the end: probes and scrapes of this pod.
        if (adminReusesPort && admin !== undefined) {
          handingOver = true
          NetServer.prototype.close.call(admin.server)
          // the streams first: ended, their connections are idle, and closed with the others (a browser would
          // reconnect on a kept one)
          live?.disconnectAll()
          admin.server.closeIdleConnections()
        }
      } }, config.shutdown)
        .then(() => this.close())
      return shuttingDown
    },
    async close () {
      if (closed) return
      closed = true
      readiness = 'draining'
      // shadow traffic is best-effort: closing the pools would wait for copies held by a hanging mirror
      abortMirrors(proxy.state.plans)
      history.stop()
      if (admin !== undefined) {
        adminClosing.resolve({ result: 'error', trigger: 'admin', refused: 'shutting_down', problems: ['the gateway is shutting down'] })
        // their answers written before the listener's close destroys the connections
        await new Promise((resolve) => setImmediate(resolve))
      }
      await admin?.close()
      await app.close()
      for (const stop of watching.values()) stop()
      await Promise.all([...proxy.state.pools.values()].map((p) => p.close()))
      logger.flush?.()
    },
  }
}

/** What a pool's requests feed: Prometheus series (bound once per pool and target) and the dashboard's history. */
function poolObserver (metrics: GatewayMetrics | undefined, history: TrafficHistory, pool: string, stillRunning: (pool: string, target: Target) => boolean): PoolObserver {
  const bound = metrics?.pool(pool)
  // by Target, not by id: a target removed by a reload has its series forgotten, and when a later reload adds it
  // again it is a new Target that must bind a new series (a binding cached by id would count nowhere)
  const targets = new WeakMap<Target, ReturnType<GatewayMetrics['target']>>()
  return {
    attempt (target, outcome, durationMs, serverError = false) {
      // a removed target finishing its last requests would bring its forgotten series back (the check scans the
      // running pool's targets only for attempts of targets that left it: a reload's or a DNS change's stragglers)
      if (!target.counting || !stillRunning(pool, target)) return
      history.record(pool, target.id, durationMs, !serverError && (outcome === 'success' || outcome === 'client-abort' || outcome === 'bad-request'))
      if (metrics === undefined) return
      let binding = targets.get(target)
      if (binding === undefined) targets.set(target, binding = metrics.target(pool, target.id))
      binding.attempt(outcome)
    },
    retry: (reason) => bound?.retry(reason),
    budgetExhausted: () => bound?.budgetExhausted(),
    ejectionSkipped: () => bound?.ejectionSkipped(),
  }
}

/**
 * A state's route counters, each bound at its route's first request (in the request's turn of the event loop, from
 * the state in force then): 10,000 routes that see no traffic hold no bindings (~1 KiB each) and cost start-up nothing.
 */
class RouteObserverCache implements RouteObservers {
  readonly #metrics: GatewayMetrics
  /** By route, for its own pool (most requests); by route and pool for its canary's and replicas'. */
  readonly #bound = new Map<Route, RouteObserver>()
  readonly #otherPools = new Map<Route, Map<string, RouteObserver>>()
  constructor (metrics: GatewayMetrics) { this.#metrics = metrics }

  get (route: Route, pool: string): RouteObserver {
    if (pool === route.pool) {
      let observer = this.#bound.get(route)
      if (observer === undefined) this.#bound.set(route, observer = this.#metrics.route(route.label, pool))
      return observer
    }
    let byPool = this.#otherPools.get(route)
    if (byPool === undefined) this.#otherPools.set(route, byPool = new Map())
    let observer = byPool.get(pool)
    if (observer === undefined) byPool.set(pool, observer = this.#metrics.route(route.label, pool))
    return observer
  }
}

function * snapshot (pools: ReadonlyMap<string, PoolRuntime>, clock: Clock): Generator<PoolSnapshot> {
  const now = monotonicMs(clock) // ejections' deadlines
  for (const [name, runtime] of pools) {
    const pool = runtime.pool
    const targets = new Map<string, { id: string; up: boolean; inFlight: number }>()
    // a target's in-flight count is its copies' together already: each upstream's counted once
    const counted = new Set<Target['shared']>()
    for (const t of pool.targets) {
      const same = targets.get(t.id)
      if (same !== undefined) { if (!counted.has(t.shared)) same.inFlight += t.inFlight }
      else targets.set(t.id, { id: t.id, up: isAvailable(pool.status(t), now), inFlight: t.inFlight })
      counted.add(t.shared)
    }
    // a copy a reload replaced (new weight or backup flag) still finishing requests is the same upstream, as /status
    // counts it; a target the reload removed is listed, as /status lists it (draining), down and with what it still
    // carries (requests, tunnels) until it closes. Its counters were forgotten; these gauges are rebuilt per scrape.
    for (const t of pool.retiring) {
      const same = targets.get(t.id)
      if (same !== undefined) { if (!counted.has(t.shared)) same.inFlight += t.inFlight }
      else targets.set(t.id, { id: t.id, up: false, inFlight: t.inFlight })
      counted.add(t.shared)
    }
    yield { name, circuit: runtime.breaker.state, tier: pool.tier, hold: pool.hold ?? 'none', targets: targets.values() }
  }
}
