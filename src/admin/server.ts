// The admin listener (its own port; loopback by default): liveness, readiness, metrics, status and the
// operator's actions. Actions reach a pool only through its public operations (setStatus, switchover, failback).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { ReloadResult, ReloadTrigger } from '../config/reloader.ts'
import { describeDiff } from '../config/diff.ts'
import { adminError, type ErrorCode } from '../errors.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { RoutePlan } from '../release/plans.ts'
import type { PoolRuntime } from '../upstream/registry.ts'
import type { TargetStatus } from '../upstream/status.ts'
import type { Target } from '../upstream/target.ts'
import { LAZY_SCHEMA_COMPILERS } from '../fastify-compilers.ts'
import { onClientError } from '../proxy/client-error.ts'
import { bearerCheck } from './auth.ts'
import { poolStatus } from './status.ts'
import type { GatewayEvent, StatusDocument } from './status-types.ts'

export interface AdminContext {
  status (): StatusDocument
  events (): readonly GatewayEvent[]
  pools (): ReadonlyMap<string, PoolRuntime>
  readiness (): StatusDocument['readiness']
  /** Overload protection is refusing requests now (event loop lag, heap or RSS over their limits). */
  overloaded (): boolean
  metrics: GatewayMetrics | undefined
  reload (trigger: ReloadTrigger): Promise<ReloadResult>
  /** Routes with a canary, by name (or id when unnamed). */
  canaryRoutes (): ReadonlyMap<string, RoutePlan>
  /** The admin token in force now (a reload may change the config's). */
  token: () => string | undefined
  logger: Logger
}

const TARGET_ACTIONS: Record<string, Partial<TargetStatus>> = {
  drain: { draining: true },
  enable: { draining: false, disabled: false },
  disable: { disabled: true },
}

export function buildAdmin (ctx: AdminContext): FastifyInstance {
  const admin = Fastify({ schemaController: LAZY_SCHEMA_COMPILERS, logger: false, forceCloseConnections: true, bodyLimit: 16 * 1024, clientErrorHandler: onClientError })
  const authorised = bearerCheck(ctx.token)
  const fail = (reply: FastifyReply, code: ErrorCode, extra: Record<string, unknown> = {}): FastifyReply => {
    const { status, body } = adminError(code, extra)
    return reply.code(status).send(body)
  }

  admin.setNotFoundHandler((_request, reply) => fail(reply, 'not_found'))
  admin.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    if (err.statusCode === 413) return fail(reply, 'payload_too_large')
    if (err.statusCode !== undefined && err.statusCode < 500) return fail(reply, 'bad_request', { detail: err.message })
    ctx.logger.error({ err }, 'admin API error')
    return fail(reply, 'internal_error')
  })
  // mutating calls: the bearer token first, before anything is looked at
  admin.addHook('onRequest', async (request, reply) => {
    if (request.method === 'POST' && !authorised(request.headers.authorization)) return fail(reply, 'unauthorized')
  })

  admin.get('/healthz', async () => ({ status: 'ok' }))
  admin.get('/readyz', async (_request, reply) => {
    const readiness = ctx.readiness()
    const overloaded = ctx.overloaded()
    const ready = readiness === 'ready' && !overloaded
    return reply.code(ready ? 200 : 503).send({ ready, readiness, overloaded })
  })
  admin.get('/metrics', async (_request, reply) => {
    if (ctx.metrics === undefined) return fail(reply, 'metrics_disabled')
    return reply.type(ctx.metrics.contentType).send(await ctx.metrics.render())
  })
  admin.get('/status', async () => ctx.status())
  admin.get('/events', async () => ({ events: ctx.events() }))
  // the older name of the pools part of /status
  admin.get('/pools', async () => ctx.status().pools)

  admin.post('/reload', async (_request, reply) => {
    const result = await ctx.reload('admin')
    if (result.result === 'error') return fail(reply, 'invalid_config', { problems: result.problems ?? [] })
    return reply.send({ result: result.result, hash: result.hash, ...(result.diff ? { changes: describeDiff(result.diff), diff: result.diff } : {}) })
  })

  const findPool = (request: FastifyRequest, reply: FastifyReply): PoolRuntime | undefined => {
    const runtime = ctx.pools().get((request.params as { pool: string }).pool)
    if (runtime === undefined) void fail(reply, 'unknown_pool')
    return runtime
  }

  admin.post('/pools/:pool/targets/:target/:action', async (request, reply) => {
    const { target: id, action } = request.params as { target: string; action: string }
    const change = Object.hasOwn(TARGET_ACTIONS, action) ? TARGET_ACTIONS[action] : undefined
    if (change === undefined) return fail(reply, 'not_found')
    const runtime = findPool(request, reply)
    if (runtime === undefined) return reply
    const target = findTarget(runtime.pool.targets, id)
    if (target === undefined) return fail(reply, 'unknown_target')
    runtime.pool.setStatus(target, change)
    return { pool: runtime.name, target: poolStatus(runtime).targets.find((t) => t.id === target.id) }
  })

  // Active-Standby by hand: { "to": "backup" } moves new traffic to the backups while the primaries are healthy,
  // { "to": "primary" } moves it back (also the way back after a failover under failback: 'manual').
  admin.post('/pools/:pool/switchover', async (request, reply) => {
    const body: unknown = request.body
    const to = body === undefined || body === null || body === '' ? 'backup' : (body as { to?: unknown }).to
    if (to !== 'backup' && to !== 'primary') return fail(reply, 'bad_request', { detail: 'body must be {"to":"backup"} or {"to":"primary"}' })
    const runtime = findPool(request, reply)
    if (runtime === undefined) return reply
    if (to === 'backup') runtime.pool.switchover()
    else runtime.pool.failback()
    return { pool: runtime.name, ...poolStatus(runtime) }
  })
  // operator's canary weight: takes effect at once; a reload sets the weight from the file again
  admin.post('/routes/:route/canary', async (request, reply) => {
    const weight = (request.body as { weight?: unknown } | undefined)?.weight
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
      return fail(reply, 'bad_request', { detail: 'body must be {"weight": N} with N from 0 to 100' })
    }
    const plan = ctx.canaryRoutes().get((request.params as { route: string }).route)
    if (plan?.canary === undefined) return fail(reply, 'unknown_route')
    plan.setCanaryWeight(weight)
    return { route: plan.name, weight: plan.canary.decider.weight, weightSource: plan.canary.decider.weightSource }
  })

  admin.post('/pools/:pool/failback', async (request, reply) => {
    const runtime = findPool(request, reply)
    if (runtime === undefined) return reply
    runtime.pool.failback()
    return { pool: runtime.name, ...poolStatus(runtime) }
  })
  return admin
}

/** A target named as host:port (as /status lists it), or by its URL. */
function findTarget (targets: readonly Target[], id: string): Target | undefined {
  return targets.find((t) => t.id === id || t.url === id || t.host === id)
}
