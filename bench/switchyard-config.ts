// The two Switchyard configurations under benchmark.
// min: one target, no breaker, no outlier detection, no retries, no logging: the cost of the gateway's core.
// full: what a production pool runs: two targets, active health checks, breaker, retries within a budget,
// outlier detection, an access-log line per request (to stdout, redirected to a file), and metrics when the
// gateway has them.
import type { z } from 'zod'
import type { GatewayConfig } from '../src/config/schema.ts'
import { gatewayConfigSchema } from '../src/config/schema.ts'

export type SwitchyardMode = 'min' | 'full'

/**
 * The metrics switch: the `metrics` section that turns metrics on, or undefined while the config schema has no
 * such section (the run then says metrics were not measured). `{ enabled: true }` is tried first, then the
 * section's defaults; either must parse with metrics not disabled.
 */
export const metricsSection: object | undefined = ((): object | undefined => {
  const field = (gatewayConfigSchema.shape as Record<string, z.ZodType | undefined>).metrics
  if (field === undefined) return undefined
  return [{ enabled: true }, {}].find((candidate) => {
    const parsed = field.safeParse(candidate)
    return parsed.success && (parsed.data as { enabled?: unknown } | undefined)?.enabled !== false
  })
})()

export function benchConfig (mode: SwitchyardMode, origins: readonly string[]): GatewayConfig {
  const server = { host: '127.0.0.1', port: 0 }
  const routes = [{ path: '/', pool: 'origin' }]
  if (mode === 'min') {
    return {
      server,
      log: { level: 'silent' },
      pools: {
        origin: {
          targets: [origins[0]!],
          circuitBreaker: { enabled: false },
          outlier: { enabled: false },
          retry: { attempts: 1 },
        },
      },
      routes,
    }
  }
  if (origins.length < 2) throw new Error('the full configuration balances over two origin addresses')
  const config: GatewayConfig = {
    server,
    log: { level: 'info', destination: 'stdout' },
    pools: {
      origin: {
        targets: [origins[0]!, origins[1]!],
        balancer: 'round-robin',
        healthCheck: { path: '/health', intervalMs: 1000, timeoutMs: 500 },
        circuitBreaker: { enabled: true },
        outlier: { enabled: true },
        retry: { attempts: 3, budget: { percent: 20, minConcurrent: 3 } },
      },
    },
    routes,
  }
  return metricsSection === undefined ? config : { ...config, metrics: metricsSection } as GatewayConfig
}
