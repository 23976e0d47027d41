// Public surface: the config types for routes.config.ts, and the builders for embedding Switchyard.
export type { GatewayConfig, ResolvedConfig, PoolConfig, RouteConfig } from './config/schema.ts'
export { validateConfig } from './config/validate.ts'
export { loadConfigFile } from './config/load.ts'
export { buildGateway } from './app.ts'
export type { Gateway } from './app.ts'
export { ERRORS, GatewayError, ConfigError } from './errors.ts'

import type { GatewayConfig } from './config/schema.ts'
/** Identity helper for editor completion in JavaScript config files. */
export function defineConfig (config: GatewayConfig): GatewayConfig { return config }
