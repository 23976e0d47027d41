// Switchyard with the full pool config and a shadow pool whose target hangs:
// `node bench/mirror-gateway.ts <on|off> <mirror-url> <origin-url> <origin-url>`. With `on`, route / mirrors 5% of
// requests (at most 64 in flight) to the shadow pool; with `off` the shadow pool exists but nothing is mirrored, so
// the pair differs only in the mirror. Says `READY <url>` on stderr; exits on SIGTERM or when stdin closes.
import { buildGateway } from '../src/app.ts'
import type { GatewayConfig } from '../src/config/schema.ts'
import { validateConfig } from '../src/config/validate.ts'
import { benchConfig } from './switchyard-config.ts'

import { MIRROR } from './mirror-config.ts'
import { serveUntilTold } from './serve-until-told.ts'

const [mode, mirrorUrl, ...origins] = process.argv.slice(2)
if ((mode !== 'on' && mode !== 'off') || mirrorUrl === undefined) throw new Error('usage: mirror-gateway.ts <on|off> <mirror-url> <origin-url>...')
const full = benchConfig('full', origins)
const config: GatewayConfig = {
  ...full,
  // the access log is not what this pair compares
  log: { level: 'warn' },
  pools: { ...full.pools, shadow: { targets: [mirrorUrl], timeouts: { requestMs: 15_000 }, connections: { maxPerTarget: 128 } } },
  routes: [{ path: '/', pool: 'origin', ...(mode === 'on' ? { mirror: MIRROR } : {}) }],
}
const gateway = buildGateway(validateConfig(config))
await serveUntilTold(gateway)
