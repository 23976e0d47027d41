// Command-line arguments: `[check] [--config FILE]`; SWITCHYARD_CONFIG is the fallback for the file.
import { parseArgs as parseNodeArgs } from 'node:util'
import { UsageError } from '../errors.ts'

export interface CliArgs {
  command: 'run' | 'check'
  configFile: string
}

export function parseArgs (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  let parsed
  try {
    parsed = parseNodeArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' } }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const [command = 'run', ...rest] = parsed.positionals
  if (command !== 'run' && command !== 'check') throw new UsageError(`unknown command '${command}'`)
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`)
  return { command, configFile: parsed.values.config ?? env.SWITCHYARD_CONFIG ?? './routes.config.ts' }
}

export const USAGE = 'usage: switchyard [check] [--config FILE]   (default ./routes.config.ts, or $SWITCHYARD_CONFIG)'
