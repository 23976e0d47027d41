// Builds a gateway from a resolved config without listening: tests and main.ts both start here.
import { METHODS } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import type { DestinationStream, Logger } from 'pino'
import type { ResolvedConfig } from './config/schema.ts'
import { buildAdmin } from './admin/server.ts'
import { GcPacer } from './lifecycle/gc-pacer.ts'
import { createLogger } from './logger.ts'
import { ProxyHandler } from './proxy/forward.ts'
import { createUpgradeHandler } from './proxy/upgrade.ts'
import { RoutingTable } from './routing/table.ts'
import type { Clock, RandomSource } from './runtime.ts'
import type { GatewayState } from './state.ts'
import { logPoolEvents } from './upstream/events.ts'
import { buildPools, type PoolRuntime } from './upstream/registry.ts'

export interface GatewayOptions {
  /** Log to this stream instead of the configured destination (tests collect lines this way). */
  logStream?: DestinationStream
  logger?: Logger
  random?: RandomSource
  clock?: Clock
}

export interface Gateway {
  readonly app: FastifyInstance
  readonly logger: Logger
  readonly proxy: ProxyHandler
  readonly config: ResolvedConfig
  pools (): ReadonlyMap<string, PoolRuntime>
  /** Listens on the configured (or given) address; resolves to the bound URL. */
  listen (address?: { host?: string; port?: number }): Promise<string>
  /** Starts the admin listener (config.admin, or the given address); resolves to its URL. */
  listenAdmin (address?: { host?: string; port?: number }): Promise<string>
  close (): Promise<void>
}

// Every method Node's parser knows, except CONNECT (a tunnel, not a request to route).
const PROXIED_METHODS = METHODS.filter((m) => m !== 'CONNECT')

export function buildGateway (config: ResolvedConfig, options: GatewayOptions = {}): Gateway {
  const logger = options.logger ?? createLogger(config.log, options.logStream)
  const runtimeOptions = { ...(options.random ? { random: options.random } : {}), ...(options.clock ? { clock: options.clock } : {}) }
  const state: GatewayState = { table: new RoutingTable(config.routes), pools: buildPools(config, runtimeOptions) }
  for (const runtime of state.pools.values()) logPoolEvents(runtime, logger)
  const proxy = new ProxyHandler(state, { logger, trustedProxies: config.server.trustedProxies })
  const tunnels = new Set<Duplex>()

  const app = Fastify({
    logger: false, // one access-log line per request is written by the proxy itself
    return503OnClosing: true,
    // Only WebSocket upgrades are tunnelled; any other Upgrade (e.g. h2c) is an ordinary request, proxied
    // without its hop-by-hop Upgrade header. (Node ≥ 22.21 / 24.9; older Node sends every upgrade to the tunnel.)
    http: { shouldUpgradeCallback: (req) => String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' },
    forceCloseConnections: 'idle',
    // the proxy answers malformed URLs itself (400 bad_path) with the same JSON and log line as any error
    frameworkErrors: (_err, request, reply) => {
      reply.hijack()
      proxy.handle(request.raw, reply.raw)
    },
  })
  for (const method of PROXIED_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true })
  }
  // One catch-all route; the proxy takes over in onRequest, before Fastify would parse a body,
  // so bodies stream untouched and routing happens in Switchyard's own swappable table.
  app.route({
    method: PROXIED_METHODS,
    url: '/*',
    onRequest: (request, reply) => {
      reply.hijack()
      proxy.handle(request.raw, reply.raw)
    },
    handler: async () => { /* never reached: onRequest hijacks every request */ },
  })
  app.setNotFoundHandler((request, reply) => {
    reply.hijack()
    proxy.handle(request.raw, reply.raw)
  })
  app.server.on('upgrade', createUpgradeHandler({ state: () => proxy.state, admit: proxy.admit, logger, tunnels }))
  app.addHook('preClose', (done) => {
    for (const socket of tunnels) socket.destroy()
    done()
  })

  let started = false
  const gcPacer = new GcPacer()
  let admin: FastifyInstance | undefined
  return {
    app,
    logger,
    proxy,
    config,
    pools: () => proxy.state.pools,
    async listen (address = {}) {
      const url = await app.listen({ host: address.host ?? config.server.host, port: address.port ?? config.server.port })
      if (!started) {
        started = true
        for (const runtime of proxy.state.pools.values()) runtime.start()
        gcPacer.start()
      }
      return url
    },
    async listenAdmin (address = {}) {
      admin ??= buildAdmin(() => proxy.state.pools)
      return admin.listen({ host: address.host ?? config.admin.host, port: address.port ?? config.admin.port })
    },
    async close () {
      gcPacer.stop()
      await admin?.close()
      await app.close()
      await Promise.all([...proxy.state.pools.values()].map((p) => p.close()))
      logger.flush?.()
    },
  }
}
