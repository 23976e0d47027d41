// Command-line arguments: `[check] [--config FILE]`; SWITCHYARD_CONFIG is the fallback for the file.
export interface CliArgs {
  command: 'run' | 'check'
  configFile: string
}

export function parseArgs (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  let command: CliArgs['command'] = 'run'
  let configFile = env.SWITCHYARD_CONFIG ?? './routes.config.ts'
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === 'check') command = 'check'
    else if (arg === '--config' || arg === '-c') {
      const value = argv[++i]
      if (value === undefined) throw new UsageError('--config needs a file path')
      configFile = value
    } else if (arg.startsWith('--config=')) configFile = arg.slice('--config='.length)
    else throw new UsageError(`unknown argument '${arg}'`)
  }
  return { command, configFile }
}

export class UsageError extends Error {
  readonly code = 'usage'
}

export const USAGE = 'usage: switchyard [check] [--config FILE]   (default ./routes.config.ts, or $SWITCHYARD_CONFIG)'
