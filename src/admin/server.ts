// The admin listener (loopback by default): pool state, and the operator's Active-Standby switches.
// Talks to pools only through their public operations (failback, switchover) and read-only state.
import Fastify, { type FastifyInstance } from 'fastify'
import type { PoolRuntime } from '../upstream/registry.ts'

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
  const now = Date.now()
  return {
    tier: runtime.pool.tier,
    failback: runtime.config.failback,
    breaker: runtime.breaker.state,
    retriesRejectedByBudget: runtime.budget.rejected,
    targets: runtime.pool.targets.map((t) => ({
      url: t.url,
      weight: t.weight,
      backup: t.backup,
      available: t.isAvailable(now),
      inFlight: t.inFlight,
      healthy: t.status.healthy,
      ejectedUntil: t.status.ejectedUntil > now ? new Date(t.status.ejectedUntil).toISOString() : undefined,
      draining: t.status.draining,
      disabled: t.status.disabled,
    })),
  }
}
