// The admin listener (loopback by default): pool state, and the operator's Active-Standby switches.
// Talks to pools only through their public operations (failback, switchover) and read-only state.
import Fastify, { type FastifyInstance } from 'fastify'
import type { PoolRuntime } from '../upstream/registry.ts'
import { isAvailable } from '../upstream/status.ts'

export function buildAdmin (pools: () => ReadonlyMap<string, PoolRuntime>): FastifyInstance {
  const admin = Fastify({ logger: false, forceCloseConnections: true })

  admin.get('/pools', async () => {
    const out: Record<string, unknown> = {}
    for (const [name, runtime] of pools()) out[name] = describePool(runtime)
    return out
  })

  const withPool = (action: (runtime: PoolRuntime) => void) => async (request: { params: unknown }, reply: { code: (n: number) => unknown }) => {
    const name = (request.params as { pool: string }).pool
    const runtime = pools().get(name)
    if (runtime === undefined) {
      reply.code(404)
      return { error: 'unknown_pool', message: `no pool named '${name}'` }
    }
    action(runtime)
    return describePool(runtime)
  }
  // Active-Standby by hand: move traffic to the backups, or back to the primaries (needed with failback: 'manual')
  admin.post('/pools/:pool/switchover', withPool((r) => r.pool.switchover()))
  admin.post('/pools/:pool/failback', withPool((r) => r.pool.failback()))
  return admin
}

export function describePool (runtime: PoolRuntime): Record<string, unknown> {
  const now = runtime.clock.now()
  const pool = runtime.pool
  return {
    tier: runtime.pool.tier,
    failback: runtime.config.failback,
    breaker: runtime.breaker.state,
    retriesRejectedByBudget: runtime.budget.rejected,
    targets: pool.targets.map((t) => {
      const status = pool.status(t)
      return {
        url: t.url,
        weight: t.weight,
        backup: t.backup,
        available: isAvailable(status, now),
        inFlight: t.inFlight,
        healthy: status.healthy,
        ejectedUntil: status.ejectedUntil > now ? new Date(status.ejectedUntil).toISOString() : undefined,
        draining: status.draining,
        disabled: status.disabled,
      }
    }),
  }
}
