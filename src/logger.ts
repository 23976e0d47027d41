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
  // asynchronous writes keep logging off the request's critical path; pino flushes on exit
  return pino(options, pino.destination({ dest: fd ?? config.destination, sync: false, mkdir: fd === undefined }))
}

function destinationFd (destination: string): number | undefined {
  return destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : undefined
}
