// Small shared helpers for the resilience suite (not a test file: tap only runs *.test.ts).
import { request, type IncomingMessage } from 'node:http'
import type { Test } from 'tap'
import type { GatewayOptions } from '../../src/app.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { PoolRuntime } from '../../src/upstream/registry.ts'
import { startGateway, type LogRecord, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** The gateway's error code when the body is one of its JSON errors. */
  error: string | undefined
  /** The upstream that answered (x-upstream), when one did. */
  upstream: string | null
  ms: number
}

export interface CallInit {
  method?: string
  headers?: Record<string, string>
  body?: Buffer | string
  signal?: AbortSignal
}

/** One request through the gateway with fetch; never throws for an HTTP status. */
export async function call (base: string, path: string, init: CallInit = {}): Promise<Reply> {
  const started = performance.now()
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  })
  const text = await res.text()
  const ms = performance.now() - started
  let error: string | undefined
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    try {
      const parsed = JSON.parse(text) as { error?: unknown }
      if (typeof parsed.error === 'string') error = parsed.error
    } catch { /* not the gateway's JSON */ }
  }
  return { status: res.status, headers: res.headers, text, error, upstream: res.headers.get('x-upstream'), ms }
}

/** Starts `count` upstreams named `${prefix}1…` with their close registered first (they must go before the gateway). */
export async function upstreams (t: Test, count: number, prefix = 'u'): Promise<TestUpstream[]> {
  const list = await Promise.all(Array.from({ length: count }, (_, i) => TestUpstream.start({ name: `${prefix}${i + 1}` })))
  t.teardown(() => Promise.all(list.map((u) => u.close())).then(() => undefined))
  return list
}

/**
 * Starts a gateway and registers its close. tap runs teardowns last-in first-out, so the upstreams
 * given here are closed first: requests hanging on them end before the gateway waits for them.
 * `options` reach buildGateway (e.g. a ManualClock and a fixed random source).
 */
export async function gateway (t: Test, config: GatewayConfig, closeFirst: readonly { close (): Promise<unknown> }[] = [], options: GatewayOptions = {}): Promise<TestGateway> {
  const gw = await startGateway(config, options)
  t.teardown(async () => {
    await Promise.all(closeFirst.map((u) => u.close()))
    await gw.close()
  })
  return gw
}

export function runtime (gw: TestGateway, name: string): PoolRuntime {
  const r = gw.gateway.pools().get(name)
  if (r === undefined) throw new Error(`no pool ${name}`)
  return r
}

/** Access-log lines for requests whose path starts with `prefix`. */
export function accessFor (gw: TestGateway, prefix: string): LogRecord[] {
  return gw.accessLogs().filter((l) => typeof l.path === 'string' && l.path.startsWith(prefix))
}

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Records every /health probe an upstream receives (the helper only counts them). */
export function recordProbes (u: TestUpstream): { userAgents: string[]; answers: number[] } {
  const seen = { userAgents: [] as string[], answers: [] as number[] }
  u.server.on('request', (req: IncomingMessage) => {
    if (req.url !== '/health') return
    seen.userAgents.push(req.headers['user-agent'] ?? '')
    // the helper answers synchronously from this same flag
    seen.answers.push(u.unhealthy ? 503 : 200)
  })
  return seen
}

/** Trailing run of equal values at the end of a list. */
export function trailingRun<T> (list: readonly T[], value: T): number {
  let n = 0
  for (let i = list.length - 1; i >= 0 && list[i] === value; i--) n++
  return n
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * A GET on its own connection (no keep-alive pool) that the caller can abandon with abort().
 * `done` settles with the status, or with 0 once aborted or failed.
 */
export function abortableGet (base: string, path: string): { done: Promise<number>; abort: () => void } {
  const req = request(base + path, { agent: false })
  const done = new Promise<number>((resolve) => {
    req.once('response', (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode ?? 0))
    })
    req.once('error', () => resolve(0))
    req.once('close', () => resolve(0))
  })
  req.end()
  return { done, abort: () => req.destroy() }
}
