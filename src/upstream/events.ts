// State changes are logged once each, when they happen — never per request.
import type { Logger } from 'pino'
import type { PoolRuntime } from './registry.ts'

export function logPoolEvents (runtime: PoolRuntime, logger: Logger): void {
  const pool = runtime.name
  runtime.pool.on('status', (target, status, previous) => {
    logger.warn({ pool, target: target.url, status: { ...status }, previous: { ...previous } }, 'target status changed')
  })
  runtime.pool.on('tier', (tier, previous) => {
    const level = tier === 'primary' ? 'info' : tier === 'backup' ? 'warn' : 'error'
    logger[level]({ pool, tier, previous }, tier === 'backup' ? 'failover to backup targets' : tier === 'primary' ? 'traffic on primary targets' : 'no target available')
  })
  runtime.breaker.on('state', (state, previous) => {
    logger[state === 'open' ? 'error' : 'warn']({ pool, breaker: state, previous }, `circuit breaker ${state}`)
  })
}
