// CLI entry: `node src/main.ts [check] [--config FILE]`; npm start and the image run it through src/start.mjs,
// which turns the compile cache on before this file is read (so Node never loads its TypeScript stripper).
// Start-up (bench/startup.ts) is mostly module loading, so this file loads almost nothing itself:
// - Node's on-disk compile cache goes on first: every module after it is type-stripped and compiled once per
//   file version instead of on every start. It lives in $NODE_COMPILE_CACHE or the OS temp directory;
//   NODE_DISABLE_COMPILE_CACHE=1 turns it off, and a directory that cannot be written just means no cache.
// - then the prebuilt bundle of this file and all it imports (src/cli/prebuilt.ts) runs instead of the sources
//   when it is up to date; otherwise the sources are imported below, after the cache is on. SWITCHYARD_SOURCES=1
//   runs the sources anyway (stack traces then name src/ files).
// - before both, a process started without the shipped V8 flags starts itself again with them
//   (src/lifecycle/node-flags.ts), so `node src/main.ts` runs with the memory of `npm start`; the cache is on
//   and in NODE_COMPILE_CACHE by then, so the second start reads this file from it (no TypeScript stripper).
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { enableCompileCache, flushCompileCache } from 'node:module'
import { applyNodeFlags } from './lifecycle/node-flags.ts'
import { MAX_TIMER_MS } from './runtime.ts'
import type { CliArgs } from './cli/args.ts'
import type { ResolvedConfig } from './config/schema.ts'
import type { Gateway } from './app.ts'
import { unsupportedNode } from './node-support.mjs'

// before anything else: a Node below the floors would start and misbehave (src/node-support.mjs)
const unsupported = unsupportedNode()
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`)
  process.exit(1)
}

// Where start-up goes, in the listening log line (bench/startup.ts reads it): ms since the process started, per
// step. The first is everything before this line ran: Node's own start, src/start.mjs, and in the bundle its loading.
const startup: Record<string, number> = { node: Math.round(performance.now()) }
let stepEnd = performance.now()
function startupStep (name: string): void {
  const now = performance.now()
  startup[name] = Math.round(now - stepEnd)
  stepEnd = now
}

// Declared before the top-level await below: serve() runs (and a signal may arrive) while it waits.
/** How much longer than its own plan (delayMs + timeoutMs) a shutdown may run before the process exits with 1. */
const SHUTDOWN_BACKSTOP_MS = 5000
/** Says that a config module left a rejected promise unhandled: on stderr until the gateway's log exists. */
let warnConfigRejection = (config: string, reason: unknown): void => {
  process.stderr.write(`switchyard: warning: ${config} left a promise rejection unhandled (ignored): ${(reason as Error).message}\n`)
}
/** How long a gateway that failed to start gets to close what it opened before the process exits anyway. */
const FAILED_START_CLOSE_MS = 2000
/** How soon a file reload that failed for the gateway's own shortage (EMFILE reading the config) is tried again. */
const FILE_RELOAD_RETRY_MS = 1000
/**
 * Signals close-with-grace would take as a stop that are not one: SIGHUP and SIGUSR2 reload and reopen the log (serve());
 * a fault or abort signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP; `kill -ABRT` for a core dump, a
 * watchdog's abort) keeps its default, a crash with a core, never a drain that exits 0 (Node's docs: a listener on a
 * real fault can leave the process looping). SIGTERM, SIGINT and SIGQUIT (nginx's graceful quit) drain.
 */
const NOT_A_STOP = ['SIGHUP', 'SIGUSR2', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV'] as const
/** The signals that stop the gateway gracefully (serve(): the first drains, a second exits at once). */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const
/** The same stop signal again this soon is one stop delivered twice (a process group's and npm's forward of it). */
const SAME_STOP_MS = 250
/**
 * The signals that arrive while the gateway starts (a config may take up to its load timeout). SIGHUP (reload) and
 * SIGUSR2 (reopen the log file) must not end the process, as both would by default: a SIGHUP is kept for once it
 * listens, and a SIGUSR2 has nothing to do (the log file is opened fresh at start).
 * SIGTERM, SIGINT and SIGQUIT end the process at once: nothing listens yet. Said by a handler,
 * because in a container node is PID 1, whose signals without one the kernel drops: a pod deleted while its config
 * loads would otherwise start serving and be killed without a drain. PID 1 exits with the status the default action
 * gives (128 + the signal); any other process dies by the signal itself, as systemd counts a clean stop.
 * Installed as this file starts, and once per process: the sources hand over to the prebuilt bundle (this file
 * again), which takes the same handlers and the SIGHUP kept meanwhile.
 */
interface StartingSignals {
  hup: boolean
  readonly onHup: () => void
  readonly onUsr2: () => void
  readonly onStop: (signal: NodeJS.Signals) => void
}
const STARTING_SIGNALS = Symbol.for('switchyard.startingSignals')
const starting = ((globalThis as Record<symbol, StartingSignals | undefined>)[STARTING_SIGNALS] ??= installStartingSignals())
function installStartingSignals (): StartingSignals {
  const signals: StartingSignals = {
    hup: false,
    onHup: () => { signals.hup = true },
    onUsr2: () => {},
    onStop: (signal) => {
      process.stderr.write(`switchyard: ${signal} while starting; exiting\n`)
      if (process.pid === 1) process.exit(128 + (os.constants.signals[signal] ?? 15))
      for (const stop of STOP_SIGNALS) process.off(stop, signals.onStop)
      process.kill(process.pid, signal)
    },
  }
  process.on('SIGHUP', signals.onHup).on('SIGUSR2', signals.onUsr2)
  for (const stop of STOP_SIGNALS) process.on(stop, signals.onStop)
  return signals
}

// The compile cache first, and named in the environment: a re-execution below (to add the shipped V8 flags) then
// reads this file from the cache at its start instead of loading Node's TypeScript stripper a second time.
const cache = enableCompileCache()
if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory
// `node src/main.ts` without the shipped V8 flags starts itself again with them, in place (same pid)
applyNodeFlags()
const { freshBundle, isBundle } = await import('./cli/prebuilt.ts')
const bundle = isBundle(import.meta.url) || process.env.SWITCHYARD_SOURCES === '1' ? undefined : freshBundle()
if (bundle !== undefined) await import(bundle.href)
else await cli()

async function cli (): Promise<void> {
  const [{ parseArgs, USAGE }, { loadConfigFile }, { configModuleOf }, { ConfigError, UsageError }, { StartupError, envSecretsProblem }] = await Promise.all([
    import('./cli/args.ts'), import('./config/load.ts'), import('./config/config-modules.ts'), import('./errors.ts'), import('./cli/start-errors.ts'),
  ])
  startupStep('cliModules')
  // A config's own stray promise (`const vault = fetchVault(); const consul = await fetchConsul()`, both failing)
  // rejects unhandled after its load, refused or not, is over: it is the config's, not the gateway's, so it is
  // logged and the gateway goes on. Any other unhandled rejection is fatal as ever: thrown on, it reaches
  // close-with-grace (told to leave unhandledRejection to this listener) as an uncaught exception.
  process.on('unhandledRejection', (reason) => {
    const config = configModuleOf(reason)
    if (config === undefined) throw reason
    warnConfigRejection(config, reason)
  })

  async function main (): Promise<number> {
    const args = parseArgs(process.argv.slice(2))
    if (args.command === 'help') {
      process.stdout.write(`${USAGE}\n`)
      return 0
    }
    if (args.command === 'version') {
      // the package's: the sources' and the bundle's (dist/) package.json are both one folder up
      const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
      process.stdout.write(`switchyard ${version}\n`)
      return 0
    }
    const config = await loadConfigFile(args.configFile)
    startupStep('config')
    // the environment's secrets replace the file's, held to the same rules: a check passes only what the start would
    const secretsProblem = envSecretsProblem(process.env)
    if (secretsProblem !== undefined) throw new StartupError(secretsProblem)
    if (args.command === 'check') {
      const [{ describeConfig }, { startWarnings }] = await Promise.all([import('./cli/summary.ts'), import('./lifecycle/start-warnings.ts')])
      process.stdout.write(describeConfig(config, args.configFile) + '\n')
      // what the start would warn of, where a CI log shows it (the verdict stays: valid, exit 0)
      for (const warning of await startWarnings(config, process.env)) process.stderr.write(`switchyard: warning: ${warning}\n`)
      return 0
    }
    await serve(config, args)
    return -1
  }

  // a check's verdict, or a start refused, is final: exit once it is written, as `nginx -t` does, though the config
  // left a timer or socket open (a secret's refresh loop, a client it connected): the process must not hang, printed
  // but never done
  await main().then((code) => { if (code >= 0) exitWhenWritten(code) }, (err: unknown) => {
    // expected failures get one clear sentence and exit 1, never a stack trace
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof StartupError) {
      process.stderr.write(`switchyard: ${err.message}\n${err instanceof UsageError ? USAGE + '\n' : ''}`)
    } else {
      process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`)
    }
    // nor may anything still pending (a DNS lookup or health probe of a gateway that failed to start, a handle the
    // config opened) keep a process that will never serve alive
    exitWhenWritten(1)
  })
}

/**
 * Exits once what stdout and stderr were given has been handed to the kernel. A write to a pipe that the reader has
 * not emptied yet is queued in the process (past the pipe's 64 KiB): exiting at once cut a 5,000-route check's
 * summary, or a long list of problems, mid-line, with the exit code saying all was well. A reader gone (EPIPE) ends
 * the wait too.
 */
function exitWhenWritten (code: number): void {
  let pending = 2
  const written = (): void => { if (--pending === 0) process.exit(code) }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => {}) // EPIPE: nobody reads; the write's callback still comes
    stream.write('', written)
  }
}

async function serve (config: ResolvedConfig, args: CliArgs): Promise<void> {
  const [{ buildGateway }, { ConfigWatcher }, { default: closeWithGrace }, { StartupError, describeListenError, describeLogDestinationError }, { reopenLogFile }, { loadedBytesHash }] = await Promise.all([
    import('./app.ts'), import('./config/watch.ts'), import('close-with-grace'), import('./cli/start-errors.ts'), import('./logger.ts'), import('./config/load.ts'),
  ])
  startupStep('gatewayModules')
  let gateway: Gateway
  try {
    gateway = buildGateway(config, {
      configFile: args.configFile,
      // a reload the watcher did not start read the file: the watcher compares with what that reload ran, or the
      // file put back to the bytes the watcher last read (by an edit after a POST /reload) would never run
      onReload: (result) => {
        if (result.trigger === 'file' || (result.result !== 'success' && result.result !== 'unchanged')) return
        const hash = loadedBytesHash(args.configFile)
        if (hash !== undefined) watcher.loaded(hash)
      },
    })
  } catch (err) {
    const problem = describeLogDestinationError(err, config.log.destination)
    throw problem === undefined ? err : new StartupError(problem)
  }
  startupStep('build')
  warnConfigRejection = (config, err) => gateway.logger.warn({ config, err }, 'the config left a promise rejection unhandled (ignored)')
  // hot reload: the file changing on disk (a ConfigMap update included), SIGHUP, or POST /reload on the admin port
  // an edit whose reload the gateway's own shortage failed (EMFILE reading the file) is read again until it goes
  // through: the watcher, having read the file, would not report it again
  let rereadTimer: NodeJS.Timeout | undefined
  const reloadFromFile = (): void => {
    clearTimeout(rereadTimer)
    void gateway.reload('file').then((result) => {
      if (result.localFailure !== undefined) rereadTimer = setTimeout(reloadFromFile, FILE_RELOAD_RETRY_MS).unref()
    })
  }
  const watcher = new ConfigWatcher(args.configFile, reloadFromFile, {
    onError: (err) => gateway.logger.warn({ err }, 'config file watch error'),
    onRecover: () => gateway.logger.info('config file readable again'),
  })
  // SIGUSR2 opens log.destination's file again (logrotate's postrotate; nginx's USR1, which Node keeps for its
  // inspector), and so does SIGHUP, before the reload logs into it
  const reopenLog = (): void => {
    try {
      reopenLogFile(gateway.logger)
    } catch (err) {
      gateway.logger.error({ err, destination: config.log.destination }, 'log file could not be reopened; writing to the old one')
      // the old file is the rotated one, which nobody reads any more: said where someone will see it
      process.stderr.write(`switchyard: log file ${config.log.destination} could not be reopened (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); writing to the old one\n`)
    }
  }
  // once stopping, a SIGHUP (logrotate's) only reopens the log: no reload into a draining gateway, as nginx's master
  // skips reconfiguring once it quits
  const onHup = (): void => {
    reopenLog()
    if (!stopRequested) void gateway.reload('signal')
  }
  process.on('SIGUSR2', reopenLog).off('SIGUSR2', starting.onUsr2)
  // SIGTERM/SIGINT: graceful shutdown (a second signal exits at once with code 1). Installed before anything
  // listens, so a signal is never the process's death; SIGHUP and SIGUSR2 are left to the reload and the log's reopen above, and unhandled
  // rejections to the listener in cli() (a gateway's own arrives here as an uncaught exception).
  // A signal that came during the build reaches the handler below at the first turn after it is installed: the
  // listeners are then never opened (nothing to drain), or, if it came while they were being opened, the handler waits
  // for them and drains what they may have taken.
  let stopRequested = false
  let listened = false
  let startFailed = false
  /** The first event was a fatal error, not a stop signal: a signal after it must not turn it into a clean exit. */
  let fatal = false
  let listenersSettled!: () => void
  const listenersDone = new Promise<void>((resolve) => { listenersSettled = resolve })
  // The stop signals are this file's (onStopSignal below), not close-with-grace's: it would take the same stop
  // delivered twice for a second one. Its fatal errors and the event loop emptying stay its own.
  const grace = closeWithGrace({ delay: false, skip: [...NOT_A_STOP, ...STOP_SIGNALS, 'unhandledRejection'] }, async ({ err }) => {
    const signal = firstStop?.signal
    stopRequested = true
    // The backstop for a shutdown that never ends reads the plan in force when the signal comes: a reload may have
    // lengthened it since start, and close-with-grace's own timer is fixed when installed.
    const { delayMs, timeoutMs } = gateway.config.shutdown
    const backstopMs = Math.min(delayMs + timeoutMs + SHUTDOWN_BACKSTOP_MS, MAX_TIMER_MS)
    setTimeout(() => {
      gateway.logger.error({ backstopMs }, 'shutdown did not finish in time, exiting')
      gateway.logger.flush()
      process.exit(1)
    }, backstopMs)
    watcher.close()
    if (err) {
      fatal = true
      gateway.logger.error({ err }, 'fatal error, shutting down')
      await gateway.close()
      return
    }
    await listenersDone
    // a start that failed says why and exits 1 (cli()), a stop requested meanwhile or not
    if (startFailed) return new Promise<void>(() => {})
    if (!listened) {
      gateway.logger.info({ signal }, 'stopped while starting, before listening')
      await gateway.close()
      return
    }
    gateway.logger.info({ signal }, 'shutting down')
    await gateway.shutdown()
  })
  // The first stop signal drains; another exits at once with code 1, cutting what is in flight. The same signal again
  // within SAME_STOP_MS is the same stop delivered twice: `npm start` under a terminal's Ctrl-C, systemd's
  // control-group kill or `kill -- -PGID` signals node and npm, which forwards it to node ms later (it exec's node),
  // and that copy cut every drain short.
  let firstStop: { signal: NodeJS.Signals; at: number } | undefined
  const onStopSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now()
    if (firstStop === undefined && !stopRequested) {
      firstStop = { signal, at: now }
      void grace.close()
      return
    }
    if (firstStop !== undefined && signal === firstStop.signal && now - firstStop.at < SAME_STOP_MS) return
    secondSignal(gateway, signal, listened, fatal)
    process.exit(1)
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal)
  // only now: a signal the starting handler's watcher has caught but the loop has not yet dispatched (the gateway's
  // modules and build run without a turn) reaches the listener above; with no listener between, Node would close the
  // watcher and drop it
  for (const signal of STOP_SIGNALS) process.off(signal, starting.onStop)

  let url: string
  let adminUrl: string
  try {
    // a poll phase first (between two check phases): a signal pending since the build is handled now, and nothing
    // is opened
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve))
    if (stopRequested) return listenersSettled()
    // The admin listener first: a start that cannot bind it (its port held by another program, or by a gateway
    // without server.reusePort) fails before the public port is taken. A public listener bound beside another
    // gateway's (server.reusePort) is handed a share of the new connections at once, and closing it resets them.
    adminUrl = await gateway.listenAdmin().catch((err: unknown) => { throw new StartupError(describeListenError(err, 'admin', config.admin)) })
    if (stopRequested) return listenersSettled()
    url = await gateway.listen().catch((err: unknown) => { throw new StartupError(describeListenError(err, 'server', config.server)) })
    listened = true
    listenersSettled()
    await watcher.start()
    // the watcher compares with the bytes the running config came from, not those it read just now: an edit saved
    // since the config was read (before the watcher looked) runs, and one saved while it was imported (no bytes
    // known to have run) too
    const ran = loadedBytesHash(args.configFile)
    if (ran === undefined) reloadFromFile()
    else watcher.loaded(ran)
  } catch (err) {
    startFailed = true
    listenersSettled()
    // Not a shutdown: nothing was served. Without this, close-with-grace would run the graceful shutdown when the
    // event loop empties (delayMs of "draining" a gateway that never listened) and exit 0.
    grace.uninstall()
    // a stop signal while the failed start closes changes nothing: it exits 1 saying why (FAILED_START_CLOSE_MS at
    // most), not dead by the signal with the reason never written (a listener that does nothing keeps the default off)
    for (const signal of STOP_SIGNALS) process.off(signal, onStopSignal).on(signal, () => {})
    watcher.close()
    await Promise.race([gateway.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, FAILED_START_CLOSE_MS).unref())])
    throw err
  }
  // stopped meanwhile: the shutdown has the gateway; no reload, and no "listening" line after "shutting down"
  if (stopRequested) return
  // a SIGHUP that came while starting reloads now (the config may have changed since it was read)
  process.on('SIGHUP', onHup).off('SIGHUP', starting.onHup)
  if (starting.hup) onHup()
  startupStep('listen')
  startup.total = Math.round(performance.now())
  gateway.logger.info({ url, admin: adminUrl, pid: process.pid, config: args.configFile, routes: config.routes.length, pools: Object.keys(config.pools).length, nodeFlags: process.execArgv, startupMs: startup }, `switchyard listening on ${url} (admin ${adminUrl})`)
  // log lines go out in batches (src/log-file.ts, up to 100 ms later): this one is awaited by people and supervisors
  gateway.logger.flush()
  // Node writes the compile cache at exit, which a killed process never reaches: written once started instead
  flushCompileCache()
}

/**
 * A second SIGTERM/SIGINT/SIGQUIT cuts the drain short (exit 1 right after this): said in the log, with
 * the requests it cuts, and written out before the exit (log lines otherwise wait up to 100 ms for their batch).
 * Before the gateway listened there is no drain to cut: it stops as the first signal would have stopped it, exit 0.
 */
function secondSignal (gateway: Gateway, signal: string, listened: boolean, fatal: boolean): void {
  if (!listened && !fatal) {
    gateway.logger.info({ signal }, 'stopped while starting, before listening')
    gateway.logger.flush()
    process.exit(0)
  }
  if (!listened) {
    // nothing was served to cut; close-with-grace exits 1 for the fatal error
    gateway.logger.info({ signal }, 'stopped while closing after a fatal error, before listening')
    gateway.logger.flush()
    return
  }
  gateway.logger.warn({ signal, inFlight: gateway.proxy.active }, `second ${signal} during shutdown: exiting now with code 1, cutting the requests in flight`)
  gateway.logger.flush()
}
