// Switchyard under benchmark: `node bench/gateway-server.ts <min|full|full-nometrics|full-nolog> <origin-url>...`, configured by
// switchyard-config.ts. Says `READY <url>` on stderr (stdout is the access log, which the harness sends to a
// file); exits on SIGTERM or when its stdin closes (the harness is gone).
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'
import { benchConfig, type SwitchyardMode } from './switchyard-config.ts'
import { serveUntilTold } from './serve-until-told.ts'

const mode = process.argv[2]
if (mode !== 'min' && mode !== 'full' && mode !== 'full-nometrics' && mode !== 'full-nolog') throw new Error('usage: gateway-server.ts <min|full|full-nometrics|full-nolog> <origin-url>...')
const gateway = buildGateway(validateConfig(benchConfig(mode satisfies SwitchyardMode, process.argv.slice(3))))
await serveUntilTold(gateway)
