// The two Switchyard configurations under benchmark.
// min: one target, no breaker, no outlier detection, no retries, no logging: the cost of the gateway's core.
// full: what a production pool runs: two targets, active health checks, breaker, retries within a budget,
// outlier detection, an access-log line per request (to stdout, redirected to a file), and Prometheus metrics.
import type { GatewayConfig } from '../src/config/schema.ts'

/**
 * full-nometrics is full with Prometheus metrics off, full-nolog full with the access log off (level warn): each
 * pair measures what one feature costs on the hot path.
 */
export type SwitchyardMode = 'min' | 'full' | 'full-nometrics' | 'full-nolog'

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
    log: { level: mode === 'full-nolog' ? 'warn' : 'info', destination: 'stdout' },
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
  return { ...config, metrics: { enabled: mode !== 'full-nometrics' } }
}
