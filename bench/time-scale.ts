// Switchyard's time limits stretched by a factor, for a gateway run under valgrind (bench/instructions.ts): there
// every request takes 50-100× its native time, so a 2 s per-try timeout would fire on answers that take 30 ms
// natively (c=256 answered 504 after three tries), and health checks, breaker windows and Node's connection checks,
// which run by the wall clock, would come 50-100× as often per request. Stretched by the slowdown, timers fire per
// request about as often as natively. The request path runs the same code with other numbers in its timers.
import type { ResolvedConfig } from '../src/config/schema.ts'

export function scaleTime (config: ResolvedConfig, factor: number): ResolvedConfig {
  if (factor === 1) return config
  const ms = (v: number): number => Math.round(v * factor)
  const pools = Object.fromEntries(Object.entries(config.pools).map(([name, p]) => [name, {
    ...p,
    timeouts: { ...p.timeouts, connectMs: ms(p.timeouts.connectMs), requestMs: ms(p.timeouts.requestMs), idleMs: ms(p.timeouts.idleMs), clientIdleMs: ms(p.timeouts.clientIdleMs) },
    healthCheck: p.healthCheck === undefined ? undefined : { ...p.healthCheck, intervalMs: ms(p.healthCheck.intervalMs), timeoutMs: ms(p.healthCheck.timeoutMs) },
    outlier: { ...p.outlier, baseEjectionMs: ms(p.outlier.baseEjectionMs), maxEjectionMs: ms(p.outlier.maxEjectionMs) },
    circuitBreaker: { ...p.circuitBreaker, rollingWindowMs: ms(p.circuitBreaker.rollingWindowMs), resetTimeoutMs: ms(p.circuitBreaker.resetTimeoutMs) },
    retry: { ...p.retry, perTryTimeoutMs: ms(p.retry.perTryTimeoutMs), backoff: { baseMs: ms(p.retry.backoff.baseMs), maxMs: ms(p.retry.backoff.maxMs) } },
  }]))
  // the connection checks' interval follows these (src/app.ts); 0 stays "no limit"
  const server = { ...config.server, headersTimeoutMs: ms(config.server.headersTimeoutMs), requestTimeoutMs: ms(config.server.requestTimeoutMs) }
  return { ...config, server, pools }
}
