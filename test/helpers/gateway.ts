// Starts a real gateway on 127.0.0.1, port 0, from a config object; collects its log lines.
import { Writable } from 'node:stream'
import { buildGateway, type Gateway, type GatewayOptions } from '../../src/app.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

export interface LogRecord {
  msg: string
  level: number
  [key: string]: unknown
}

export interface TestGateway {
  gateway: Gateway
  url: string
  logs: LogRecord[]
  /** Access-log lines only. */
  accessLogs (): LogRecord[]
  close (): Promise<void>
}

export async function startGateway (config: GatewayConfig, options: GatewayOptions = {}): Promise<TestGateway> {
  const logs: LogRecord[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogRecord)
      cb()
    },
  })
  const resolved = validateConfig({ log: { level: 'info' }, ...config })
  // round-robin from the first target, as the tests count on (the gateway starts it at random: src/app.ts)
  const gateway = buildGateway(resolved, { logStream, roundRobinStart: () => 0, ...options })
  const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
  return {
    gateway,
    url,
    logs,
    accessLogs: () => logs.filter((l) => l.msg === 'request'),
    close: () => gateway.close(),
  }
}

/** Whether `promise` settles within `timeoutMs`; its timer is cleared, so it never holds the test's process open. */
export async function settlesWithin (promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
  try {
    return await Promise.race([promise.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes (for state reached over real sockets). */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs}ms`)
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
