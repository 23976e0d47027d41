// The live status dashboard on the admin listener: the page at `/`, its script and styles (bundled by esbuild in
// memory on first request, then served from memory), GET /history (five minutes of per-pool traffic) and
// GET /live (the Server-Sent Events stream). Everything comes from the gateway itself: no CDN, works offline.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { adminError } from '../errors.ts'
import type { Clock } from '../runtime.ts'
import type { DashboardConfig, DashboardRoute, DashboardStatus, LiveSnapshot } from './dashboard/wire.ts'
import type { TrafficHistory } from './history.ts'
import { LiveStream, type LiveStreamOptions } from './live.ts'
import type { GatewayEvent, StatusDocument } from './status-types.ts'

export interface DashboardOptions {
  /** The current status document (GET /status's); StatusDocument fits, the optional extensions are drawn when present. */
  status: () => DashboardStatus
  /**
   * The routes as the running config has them, the same array until a reload changes them: status() passes each
   * route that carries no state of its own as this very object, and the live stream's snapshots leave those out.
   * Without it every snapshot sends every route.
   */
  routes?: () => readonly DashboardRoute[]
  /** Recent events, oldest first; a watcher gets them when it connects. */
  events: () => readonly GatewayEvent[]
  history: TrafficHistory
  auth: DashboardConfig
  clock?: Clock
  /** Where a failed bundle is said (the admin's Fastify logs nothing of its own). */
  logger?: Pick<Logger, 'error'>
  /** Throttle, heartbeat and limits of the live stream (defaults: 500 ms, 5 s refresh, 15 s heartbeat, 32 watchers). */
  live?: Pick<LiveStreamOptions, 'minIntervalMs' | 'refreshMs' | 'heartbeatMs' | 'maxBufferedBytes' | 'maxWatchers' | 'onError'>
}

/** Points of each pool carried by every snapshot: enough to bridge a throttled or delayed update. */
const SNAPSHOT_POINTS = 5

const SOURCE = new URL('./dashboard/', import.meta.url)

/** Security headers for every dashboard asset: nothing from elsewhere, no framing. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ')

interface Asset { body: string; type: string; etag: string }

/**
 * Adds the dashboard's routes to the admin listener. Returns its live stream: call publishEvent() for every
 * GatewayEvent and markDirty() whenever pool or target state changes (the traffic history's samples mark it already).
 * The routes `/`, `/dashboard/*` carry no state and must stay reachable without a token; `/history` and `/live`
 * carry what GET /status does and are guarded like it by the admin listener's onRequest hook (server.ts: the token
 * when one is set, no page of another origin); the page sends the bearer token it has, on /live too.
 */
export function registerDashboard (admin: FastifyInstance, options: DashboardOptions): LiveStream {
  const clock = options.clock
  const live = new LiveStream({
    ...options.live,
    clock,
    backlog: options.events,
    // a fresh list each time when none is given: every snapshot is then preceded by every route
    routes: options.routes ?? (() => [...options.status().routes]),
    snapshot: (sent): LiveSnapshot => {
      const { routes, ...status } = options.status()
      const routeState: Record<number, DashboardRoute> = {}
      for (let i = 0; i < routes.length; i++) if (routes[i] !== sent?.[i]) routeState[i] = routes[i]!
      return { now: (clock ?? Date).now(), status, routeState, traffic: options.history.summary(SNAPSHOT_POINTS) }
    },
  })
  const unsubscribe = options.history.onSample(() => live.markDirty())
  admin.addHook('preClose', async () => {
    unsubscribe()
    live.close()
  })

  let assets: Promise<Map<string, Asset>> | undefined
  const asset = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    assets ??= bundle().catch((error: unknown) => {
      assets = undefined // the next request tries again
      throw error
    })
    let found: Asset | undefined
    try {
      found = (await assets).get(name)
    } catch (error) {
      options.logger?.error({ err: error }, 'dashboard bundle failed')
      const { status, body } = adminError('dashboard_unavailable')
      return reply.code(status).send(body)
    }
    if (found === undefined) throw new Error(`no dashboard asset ${name}`)
    reply
      .header('content-type', found.type)
      .header('cache-control', 'no-cache')
      .header('etag', found.etag)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
    if (matchesEtag(request.headers['if-none-match'], found.etag)) return reply.code(304).send()
    return found.body
  }

  admin.get('/', asset('index.html'))
  admin.get('/dashboard/app.js', asset('app.js'))
  admin.get('/dashboard/app.css', asset('app.css'))
  admin.get('/dashboard/config.json', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const config: DashboardConfig = { tokenRequired: options.auth.tokenRequired }
    if (options.auth.actionsDisabledReason !== undefined) config.actionsDisabledReason = options.auth.actionsDisabledReason
    return config
  })
  admin.get('/history', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return options.history.summary()
  })
  admin.get('/live', (request, reply) => {
    reply.hijack()
    request.raw.socket.setTimeout(0) // a quiet stream is not an idle connection
    live.attach(reply.raw)
  })
  return live
}

/** Dashboard builds under way in this process (gateways built side by side share esbuild's one service). */
let building = 0

/**
 * Builds the page's script and styles with esbuild, in memory (the caller keeps what it built). esbuild runs its
 * service as a child process and keeps it for the life of the parent: it is stopped once the last build under way
 * is over, or the gateway would keep an idle ~20 MiB process from the first time the dashboard was opened (a build
 * that fails and is tried again starts a new one).
 */
async function bundle (): Promise<Map<string, Asset>> {
  const { build, stop } = await import('esbuild') // loaded only when someone opens the dashboard
  building++
  const result = await build({
    entryPoints: [
      { in: fileURLToPath(new URL('main.ts', SOURCE)), out: 'app' },
      { in: fileURLToPath(new URL('styles.css', SOURCE)), out: 'app' },
    ],
    outdir: '/dashboard', // virtual: nothing is written
    write: false,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'silent',
  }).finally(() => --building === 0 ? stop() : undefined)
  const html = await readFile(new URL('index.html', SOURCE), 'utf8')
  const out = new Map<string, Asset>([['index.html', toAsset(html, 'text/html; charset=utf-8')]])
  for (const file of result.outputFiles) {
    if (file.path.endsWith('/app.js')) out.set('app.js', toAsset(file.text, 'text/javascript; charset=utf-8'))
    if (file.path.endsWith('/app.css')) out.set('app.css', toAsset(file.text, 'text/css; charset=utf-8'))
  }
  return out
}

function toAsset (body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}

/** The admin API's status document as the page draws it: a read/write split becomes the page's split view. */
export function toDashboardStatus (doc: StatusDocument): DashboardStatus {
  return {
    ...doc,
    // a route without reads is passed as it is (no copy: built once per config, src/admin/status.ts)
    routes: doc.routes.map((status) => {
      if (status.reads === undefined) return status
      const { reads, ...route } = status
      return { ...route, split: { readPool: reads.pool, fallbackActive: reads.fallback, stickyAfterWriteMs: reads.stickyAfterWriteMs, ...(reads.fallback ? { fallbackReason: 'no replica available (down, lagging or breaker open) or none answered' } : {}) } }
    }),
  }
}

/**
 * If-None-Match compared as RFC 9110 §13.1.2 says: weakly (a W/ prefix ignored: nginx's gzip makes an ETag weak),
 * any tag of a list, or `*` alone.
 */
export function matchesEtag (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true // '*' alone, never as an element of a list (If-None-Match = "*" / #entity-tag)
  return header.split(',').some((tag) => {
    const trimmed = tag.trim()
    return (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === etag
  })
}
