// Switchyard under benchmark: `node bench/gateway-server.ts <mode> <origin-url>...` (modes: switchyard-config.ts), configured by
// switchyard-config.ts, its time limits stretched by BENCH_TIME_SCALE when set (bench/instructions.ts, under valgrind).
// BENCH_TREE=<another checkout> runs that checkout's gateway and bench config instead of this one's, stretched the
// same way (bench/instructions.ts's baseline-full: the other tree's own script may not know BENCH_TIME_SCALE).
// Says `READY <url>` on stderr (stdout is the access log, which the harness sends to a file); exits on SIGTERM or
// when its stdin closes (the harness is gone).
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { SwitchyardMode } from './switchyard-config.ts'
import { serveUntilTold } from './serve-until-told.ts'
import { scaleTime } from './time-scale.ts'

const tree = process.env.BENCH_TREE === undefined ? new URL('..', import.meta.url) : pathToFileURL(`${resolve(process.env.BENCH_TREE)}/`)
const from = (path: string): string => new URL(path, tree).href
const { buildGateway } = await import(from('src/app.ts')) as typeof import('../src/app.ts')
const { validateConfig } = await import(from('src/config/validate.ts')) as typeof import('../src/config/validate.ts')
const { benchConfig, SWITCHYARD_MODES } = await import(from('bench/switchyard-config.ts')) as typeof import('./switchyard-config.ts')

const mode = process.argv[2] as SwitchyardMode
if (!SWITCHYARD_MODES.includes(mode)) throw new Error(`usage: gateway-server.ts <${SWITCHYARD_MODES.join('|')}> <origin-url>...`)
// BENCH_TIME_SCALE: under valgrind, time limits stretched by the slowdown (bench/time-scale.ts); 1 otherwise
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 1)
const gateway = buildGateway(scaleTime(validateConfig(benchConfig(mode, process.argv.slice(3))), timeScale))
await serveUntilTold(gateway)
