// The two Switchyard configurations under benchmark.
// min: one target, no breaker, no outlier detection, no retries, no logging: the cost of the gateway's core.
// full: what a production pool runs: two targets, active health checks, breaker, retries within a budget,
// outlier detection, an access-log line per request (to stdout, redirected to a file), and Prometheus metrics.
import type { GatewayConfig } from '../src/config/schema.ts'

/**
 * full-nometrics is full with Prometheus metrics off, full-nolog full with the access log off (level warn): each
 * pair measures what one feature costs on the hot path.
 */
export type SwitchyardMode = 'min' | 'full' | 'full-nometrics' | 'full-nolog' | 'full-10k-routes' | 'full-1k-targets'

export const SWITCHYARD_MODES: readonly SwitchyardMode[] = ['min', 'full', 'full-nometrics', 'full-nolog', 'full-10k-routes', 'full-1k-targets']

/** The scale contenders' routes: this many, the request going through the one in the middle (see contenders.ts). */
export const SCALE_ROUTES = 10_000
export const SCALE_ROUTE_PATH = `/svc${SCALE_ROUTES / 2}`

/**
 * full-10k-routes: full with 10,000 routes (prefixes, some with hosts, methods or header matches, as
 * bench/startup.ts generates them), each stripping its prefix; the load goes through SCALE_ROUTE_PATH.
 * full-1k-targets: full with its pool over the origin's 1,000 scale addresses. Its health checks run every
 * 500 s instead of 1 s, so the pool is probed as often in all (2 probes a second) as full's 2 targets are:
 * the pair measures what a large pool costs per request, not what checking 500× more targets costs.
 */
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
  const scale = mode === 'full-1k-targets'
  if (scale && origins.length < 1000) throw new Error('full-1k-targets balances over 1,000 origin addresses (nginx\'s scale addresses)')
  const config: GatewayConfig = {
    server,
    log: { level: mode === 'full-nolog' ? 'warn' : 'info', destination: 'stdout' },
    pools: {
      origin: {
        targets: scale ? [...origins] : [origins[0]!, origins[1]!],
        balancer: 'round-robin',
        healthCheck: { path: '/health', intervalMs: scale ? 1000 * (origins.length / 2) : 1000, timeoutMs: 500 },
        circuitBreaker: { enabled: true },
        outlier: { enabled: true },
        retry: { attempts: 3, budget: { percent: 20, minConcurrent: 3 } },
      },
    },
    routes: mode === 'full-10k-routes' ? scaleRoutes() : routes,
  }
  return { ...config, metrics: { enabled: mode !== 'full-nometrics' } }
}

function scaleRoutes (): NonNullable<GatewayConfig['routes']> {
  return Array.from({ length: SCALE_ROUTES }, (_, i) => ({
    path: `/svc${i}`,
    pool: 'origin',
    stripPrefix: true,
    ...(i % 10 === 1 ? { host: `svc${i}.example.com` } : {}),
    ...(i % 7 === 2 ? { methods: ['GET', 'POST'] } : {}),
    ...(i % 13 === 3 ? { headers: { 'x-canary': '1' } } : {}),
  }))
}
