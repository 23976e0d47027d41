// CLI entry: `node src/main.ts [check] [--config FILE]`.
import closeWithGrace from 'close-with-grace'
import { buildGateway } from './app.ts'
import { parseArgs, USAGE } from './cli/args.ts'
import { describeConfig } from './cli/summary.ts'
import { loadConfigFile } from './config/load.ts'
import { ConfigWatcher } from './config/watch.ts'
import { ConfigError, UsageError } from './errors.ts'

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const config = await loadConfigFile(args.configFile)
  if (args.command === 'check') {
    process.stdout.write(describeConfig(config, args.configFile) + '\n')
    return 0
  }
  const gateway = buildGateway(config, { configFile: args.configFile })
  // hot reload: the file changing on disk (a ConfigMap update included), SIGHUP, or POST /reload on the admin port
  const watcher = new ConfigWatcher(args.configFile, () => { void gateway.reload('file') }, {
    onError: (err) => gateway.logger.warn({ err }, 'config file watch error'),
  })
  process.on('SIGHUP', () => { void gateway.reload('signal') })
  // SIGTERM/SIGINT: graceful shutdown (a second signal exits at once with code 1). Installed before anything
  // listens, so a signal is never the process's death; SIGHUP is left to the reload above.
  const { delayMs, timeoutMs } = gateway.config.shutdown
  closeWithGrace({ delay: delayMs + timeoutMs + 5000, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    watcher.close()
    if (err) {
      gateway.logger.error({ err }, 'fatal error, shutting down')
      await gateway.close()
      return
    }
    gateway.logger.info({ signal }, 'shutting down')
    await gateway.shutdown()
  })

  const url = await gateway.listen()
  const adminUrl = await gateway.listenAdmin()
  await watcher.start()
  gateway.logger.info({ url, admin: adminUrl, config: args.configFile, routes: config.routes.length, pools: Object.keys(config.pools).length }, `switchyard listening on ${url} (admin ${adminUrl})`)
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
