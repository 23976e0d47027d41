// CLI entry: `node src/main.ts [check] [--config FILE]`.
import closeWithGrace from 'close-with-grace'
import { buildGateway } from './app.ts'
import { parseArgs, USAGE, UsageError } from './cli/args.ts'
import { describeConfig } from './cli/summary.ts'
import { loadConfigFile } from './config/load.ts'
import { ConfigError } from './errors.ts'

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const config = await loadConfigFile(args.configFile)
  if (args.command === 'check') {
    process.stdout.write(describeConfig(config, args.configFile) + '\n')
    return 0
  }
  const gateway = buildGateway(config)
  const url = await gateway.listen()
  const adminUrl = await gateway.listenAdmin()
  gateway.logger.info({ url, admin: adminUrl, config: args.configFile, routes: config.routes.length, pools: Object.keys(config.pools).length }, `switchyard listening on ${url} (admin ${adminUrl})`)
  closeWithGrace({ delay: config.server.shutdownGraceMs }, async ({ signal, err }) => {
    if (err) gateway.logger.error({ err }, 'fatal error, shutting down')
    else gateway.logger.info({ signal }, 'shutting down')
    await gateway.close()
  })
  return -1
}

main().then((code) => { if (code >= 0) process.exitCode = code }, (err: unknown) => {
  // expected failures get one clear sentence and exit 1, never a stack trace
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`switchyard: ${err.message}\n${err instanceof UsageError ? USAGE + '\n' : ''}`)
  } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
    process.stderr.write(`switchyard: cannot listen: ${(err as Error).message}\n`)
  } else {
    process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`)
  }
  process.exitCode = 1
})
