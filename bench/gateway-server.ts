// Switchyard under benchmark: `node bench/gateway-server.ts <mode> <origin-url>...` (modes: switchyard-config.ts), configured by
// switchyard-config.ts, its time limits stretched by BENCH_TIME_SCALE when set (bench/instructions.ts, under valgrind).
// Says `READY <url>` on stderr (stdout is the access log, which the harness sends to a file); exits on SIGTERM or
// when its stdin closes (the harness is gone).
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'
import { benchConfig, SWITCHYARD_MODES, type SwitchyardMode } from './switchyard-config.ts'
import { serveUntilTold } from './serve-until-told.ts'
import { scaleTime } from './time-scale.ts'

const mode = process.argv[2] as SwitchyardMode
if (!SWITCHYARD_MODES.includes(mode)) throw new Error(`usage: gateway-server.ts <${SWITCHYARD_MODES.join('|')}> <origin-url>...`)
// BENCH_TIME_SCALE: under valgrind, time limits stretched by the slowdown (bench/time-scale.ts); 1 otherwise
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 1)
const gateway = buildGateway(scaleTime(validateConfig(benchConfig(mode, process.argv.slice(3))), timeScale))
await serveUntilTold(gateway)
