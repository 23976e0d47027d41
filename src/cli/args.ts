// Command-line arguments: `[check] [--config FILE]`, `--help`, `--version`; SWITCHYARD_CONFIG is the fallback for the file.
import { parseArgs as parseNodeArgs } from 'node:util'
import { UsageError } from '../errors.ts'

export interface CliArgs {
  /** help and version print what they say to stdout and exit 0, whatever else was given. */
  command: 'run' | 'check' | 'help' | 'version'
  configFile: string
}

export function parseArgs (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  let parsed
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    throw new UsageError(usageProblem(err as Error & { code?: string }))
  }
  // an empty SWITCHYARD_CONFIG (`SWITCHYARD_CONFIG=` in a unit file or a pod spec) is no file name, as an empty
  // secret is no secret (start-errors.ts envSecret)
  const configFile = parsed.values.config ?? (env.SWITCHYARD_CONFIG || undefined) ?? './routes.config.ts'
  if (parsed.values.help === true) return { command: 'help', configFile }
  if (parsed.values.version === true) return { command: 'version', configFile }
  const [command = 'run', ...rest] = parsed.positionals
  if (command !== 'run' && command !== 'check') throw new UsageError(`unknown command '${command}'`)
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`)
  return { command, configFile }
}

/** Node's messages for a bad option, in a sentence of this CLI (its own advises `--` for a positional, which no command takes). */
function usageProblem (err: Error & { code?: string }): string {
  const option = /'([^']+)'/.exec(err.message)?.[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `unknown option '${option}'`
  const long = /--[\w-]+/.exec(err.message)?.[0]
  // the same code for `--config` with no value and `--help=1`, a value given to an option that takes none
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && long !== undefined) return /does not take an argument/.test(err.message) ? `option '${long}' takes no value` : `option '${long}' needs a value`
  return err.message
}

export const USAGE = 'usage: switchyard [check] [--config FILE]   (default ./routes.config.ts, or $SWITCHYARD_CONFIG)\n' +
  '       switchyard --help | --version'
