// The gateway's pino logger: JSON lines to stdout, stderr or a file; pretty only when asked (development).
import { writeSync } from 'node:fs'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { ResolvedConfig } from './config/schema.ts'
import { LogFile } from './log-file.ts'

/** Loggers made here: pino's defaults for time, level and message key, no formatters, mixin or hooks. */
const plainJson = new WeakSet<Logger>()

/** Whether a line may be written to this logger's stream pre-formatted, exactly as pino would format it. */
export function writesPlainJson (logger: Logger): boolean {
  return plainJson.has(logger)
}

export function createLogger (config: ResolvedConfig['log'], stream?: DestinationStream): Logger {
  const logger = buildLogger(config, stream)
  plainJson.add(logger)
  return logger
}

function buildLogger (config: ResolvedConfig['log'], stream?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.level,
    base: { service: 'switchyard' },
    // secrets that could reach a log line through an error or a debug dump
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  }
  if (stream !== undefined) return pino(options, stream)
  if (config.pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: destinationFd(config.destination) ?? config.destination } } })
  const fd = destinationFd(config.destination)
  // batched synchronous writes (log-file.ts): a line costs a copy, a batch one write(), nothing is lost at exit
  return pino(options, new LogFile(fd ?? config.destination, { onFailure: fd === 2 ? undefined : reportLogFailure }))
}

/** Bytes of log lines the logger's writer has dropped because its destination refused them (0 for other streams). */
export function droppedLogBytes (logger: Logger): number {
  const stream = logFileOf(logger)
  return stream === undefined ? 0 : stream.droppedBytes
}

/**
 * Opens the logger's file again by its path, for logrotate's rename-and-create (SIGHUP): lines written from now on go
 * to the new file. Nothing to do for stdout, stderr, a pretty transport or a stream a caller gave. Throws if the file
 * cannot be opened (lines keep going to the old one).
 */
export function reopenLogFile (logger: Logger): void {
  logFileOf(logger)?.reopen()
}

function logFileOf (logger: Logger): LogFile | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym]
  return stream instanceof LogFile ? stream : undefined
}

/** Once per run of failed writes, on stderr (best effort): the lines themselves cannot say it. */
function reportLogFailure (err: NodeJS.ErrnoException): void {
  try {
    writeSync(2, `switchyard: log lines dropped: writing them failed (${err.code ?? err.message}); retrying with the next batch\n`)
  } catch {}
}

function destinationFd (destination: string): number | undefined {
  return destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : undefined
}
