// The client side of the chaos run: keep-alive requests that never throw (a failure is a record with status 0),
// and free loopback ports. node:http's values come through process.getBuiltinModule, as src/node-http.ts explains.
import type { Agent as HttpAgent, IncomingHttpHeaders } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'

export const { Agent, createServer, request } = process.getBuiltinModule('node:http')
export type { HttpAgent }

export interface Sent {
  t0: number
  t1: number
  method: string
  path: string
  /** 0 when no answer arrived (refused, reset, timed out). */
  status: number
  /** Which upstream answered (its x-upstream header). */
  up: string | undefined
  token: string | undefined
  /** The read-your-writes cookie as `name=value`. */
  cookie: string | undefined
  err: string | undefined
  data: string
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const first = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name]
  return Array.isArray(v) ? v[0] : v
}

/** One request; `now` is the run's clock, so records compare with its steps and reloads. */
export function send (base: string, agent: HttpAgent, now: () => number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Sent> {
  return new Promise((resolve) => {
    const t0 = now()
    const fail = (err: string, data = ''): void => resolve({ t0, t1: now(), method, path, status: 0, up: undefined, token: undefined, cookie: undefined, err, data })
    const bodyHeaders: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-body-len': String(Buffer.byteLength(body)) }
    const req = request(base + path, { method, agent, headers: { ...headers, ...bodyHeaders } }, (res) => {
      let data = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { data += chunk })
      res.once('end', () => resolve({
        t0, t1: now(), method, path, status: res.statusCode ?? 0, up: first(res.headers, 'x-upstream'), token: first(res.headers, 'x-read-after-write'),
        cookie: res.headers['set-cookie']?.[0]?.split(';')[0], err: undefined, data,
      }))
      res.once('error', (e: NodeJS.ErrnoException) => fail('res ' + (e.code ?? e.message), data))
    })
    req.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message))
    // a request that hangs past this is a failure, not a stall of the whole run
    req.setTimeout(10_000, () => req.destroy(new Error('client timeout 10s')))
    req.end(body)
  })
}
