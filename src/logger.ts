// The gateway's pino logger: JSON lines to stdout, stderr or a file; pretty only when asked (development).
import pino, { type DestinationStream, type Logger } from 'pino'
import type { ResolvedConfig } from './config/schema.ts'

export function createLogger (config: ResolvedConfig['log'], stream?: DestinationStream): Logger {
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
  // Asynchronous, batched writes keep logging off the request's critical path: lines gather up to 4 KiB per
  // write() instead of one syscall per access-log line, and a timer flushes a partial batch within 100 ms so a
  // quiet gateway's lines still show at once. pino flushes what is left on exit.
  const destination = pino.destination({ dest: fd ?? config.destination, sync: false, minLength: 4096, mkdir: fd === undefined })
  setInterval(() => destination.flush(), 100).unref()
  return pino(options, destination)
}

function destinationFd (destination: string): number | undefined {
  return destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : undefined
}
