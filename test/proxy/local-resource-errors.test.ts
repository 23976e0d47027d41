// The gateway's own shortage (EMFILE and the other local resource codes) on the request path, made deterministic and
// in-process: the upstream connects of one port fail with a chosen code (net.connect, which undici's connector calls,
// is replaced for the test's lifetime), so no prlimit and no racing for descriptors (test/reliability/fd-exhaustion
// covers the real thing, but depends on the kernel handing the idle clients the last descriptors).
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import t from 'tap'
import { isLocalResourceError } from '../../src/resilience/classify.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import os from 'node:os'

/** Connects to a port in `failing` fail with its code, as a connect() the kernel refused for the gateway's own want. */
const failing = new Map<number, string>()
/** Connects refused so far, by port. */
const refused = new Map<number, number>()
const realConnect = net.connect
;(net as { connect: unknown }).connect = function (this: unknown, ...args: unknown[]): net.Socket {
  const opts = args[0] as { port?: number | string } | undefined
  const code = typeof opts === 'object' && opts !== null ? failing.get(Number(opts.port)) : undefined
  if (code === undefined) return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args)
  refused.set(Number((opts as { port: number | string }).port), (refused.get(Number((opts as { port: number | string }).port)) ?? 0) + 1)
  const socket = new net.Socket()
  process.nextTick(() => socket.destroy(Object.assign(new Error(`connect ${code}`), { code, syscall: 'connect' })))
  return socket
}
t.teardown(() => { (net as { connect: unknown }).connect = realConnect })

async function upstream (t: { teardown (fn: () => unknown): void }): Promise<{ url: string; id: string; port: number }> {
  const server: Server = createServer((req, res) => { req.resume(); res.end('ok') })
  server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, id: `127.0.0.1:${port}`, port }
}

function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], error: res.statusCode === 200 ? undefined : (JSON.parse(body) as { error: string }).error }))
    }).on('error', reject).end()
  })
}

/** A WebSocket handshake over a fresh connection; resolves to the answer's head. */
function upgrade (url: string, headers: Record<string, string> = {}): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), '127.0.0.1')
    let answer = ''
    s.on('data', (c: Buffer) => {
      answer += c.toString('latin1')
      if (answer.includes('\r\n\r\n')) { s.destroy(); resolve(answer.slice(0, answer.indexOf('\r\n\r\n'))) }
    })
    s.on('error', reject)
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    s.write(`GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`)
  })
}

t.test('every local resource code is the gateway\'s own; a connect refusal or a code-less error is not', async (t) => {
  for (const code of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS', 'ENOMEM']) t.equal(isLocalResourceError(Object.assign(new Error(code), { code })), true, code)
  for (const err of [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), new Error('x'), null, undefined, { code: 24 }]) t.equal(isLocalResourceError(err), false, String((err as { code?: unknown } | null)?.code))
})

// Out of fds, a target named by host name failed its lookup with EBUSY (getaddrinfo could not open /etc/hosts or a
// DNS socket), so the gateway's shortage was blamed on the target again: marked unhealthy, retried, 502. A failed
// lookup is the gateway's own when it cannot open a descriptor; a connect's own failure never asks.
t.test('a failed name lookup is the gateway\'s own when it has no descriptor left', async (t) => {
  const lookup = (code: string): Error => Object.assign(new Error(`getaddrinfo ${code} localhost`), { code, syscall: 'getaddrinfo', hostname: 'localhost' })
  const cases: Array<[err: Error, fdsLeft: boolean, local: boolean]> = [
    [lookup('EBUSY'), false, true],
    [lookup('EBUSY'), true, false],
    [lookup('ENOTFOUND'), false, true],
    [lookup('ENOTFOUND'), true, false],
    [Object.assign(new Error('x'), { code: 'EAI_AGAIN' }), false, true], // no syscall: known by its code
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect' }), false, false],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), false, false],
  ]
  for (const [err, fdsLeft, local] of cases) {
    let asked = 0
    const answer = isLocalResourceError(err, { fdsLeft: () => { asked++; return fdsLeft }, hasIpv6: () => true })
    t.equal(answer, local, `${(err as NodeJS.ErrnoException).code} with${fdsLeft ? '' : 'out'} a descriptor left`)
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') t.equal(asked, 0, 'a connect refusal opens no descriptor to ask')
  }
  t.equal(isLocalResourceError(lookup('ENOTFOUND')), false, 'with the real check: this process has descriptors left')
})

// EADDRNOTAVAIL is the gateway's shortage of local ports, but also a connect to an IPv6 target from a host with IPv6
// off: that target would have been answered 503 overloaded for good, never tried on another target of its pool.
t.test('EADDRNOTAVAIL to an IPv6 target from a host without IPv6 is the target\'s', async (t) => {
  const refused = (address: string): Error => Object.assign(new Error(`connect EADDRNOTAVAIL ${address}:80`), { code: 'EADDRNOTAVAIL', syscall: 'connect', address, port: 80 })
  const host = (hasIpv6: boolean) => ({ fdsLeft: () => true, hasIpv6: () => hasIpv6 })
  t.equal(isLocalResourceError(refused('::1'), host(false)), false, 'no IPv6 here: the address is the fault')
  t.equal(isLocalResourceError(refused('::1'), host(true)), true, 'IPv6 here: out of local ports')
  t.equal(isLocalResourceError(refused('10.0.0.1'), host(false)), true, 'IPv4: out of local ports')
  t.equal(isLocalResourceError(Object.assign(new Error('x'), { code: 'EADDRNOTAVAIL' }), host(false)), true, 'no address known: the gateway\'s, as before')
})

t.test('a request whose connect fails locally: 503 overloaded with Retry-After, counted local-error, never a target failure', async (t) => {
  const a = await upstream(t)
  const gw = await startGateway({
    pools: { p: { targets: [a.url], retry: { attempts: 1 }, outlier: { consecutiveFailures: 2, maxEjectionPercent: 100 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(a.port); return gw.close() })
  for (const code of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL']) {
    failing.set(a.port, code)
    const r = await get(`${gw.url}/x`)
    t.match(r, { status: 503, error: 'overloaded', retryAfter: '1' }, `${code}: the gateway's own shortage, come back in a second`)
  }
  await waitFor(() => gw.accessLogs().length === 3)
  t.strictSame(gw.accessLogs().map((l) => l.upstreamError), ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL'], 'the access log names the cause')
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 'p', target: a.id, outcome: 'local-error' })], 3, 'counted as local-error attempts')
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 'p', target: a.id, outcome: 'success' })], undefined, 'not as successes')
  t.equal(gw.gateway.status().pools.p!.targets[0]!.failures, 0, 'no failure of the target')
})

t.test('a local failure between two real failures neither counts nor clears the target\'s failure streak', async (t) => {
  const a = await upstream(t)
  const gw = await startGateway({
    pools: { p: { targets: [a.url], retry: { attempts: 1 }, outlier: { consecutiveFailures: 2, maxEjectionPercent: 100 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(a.port); return gw.close() })
  const state = (): string => gw.gateway.status().pools.p!.targets[0]!.state
  failing.set(a.port, 'ECONNREFUSED')
  t.equal((await get(`${gw.url}/x`)).status, 502, 'a real failure (1 of 2)')
  failing.set(a.port, 'EMFILE')
  t.equal((await get(`${gw.url}/x`)).status, 503, 'the gateway out of descriptors')
  t.equal(state(), 'healthy', 'not ejected for it')
  failing.set(a.port, 'ECONNREFUSED')
  t.equal((await get(`${gw.url}/x`)).status, 502, 'a real failure (2 of 2)')
  t.equal(state(), 'ejected', 'the two real failures in a row eject it: the local one in between cleared nothing')
})

t.test('an upgrade whose connect fails locally: 503 overloaded, its slot given back, counted local-error', async (t) => {
  const a = await upstream(t)
  const gw = await startGateway({
    pools: { p: { targets: [a.url], retry: { attempts: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(a.port); return gw.close() })
  failing.set(a.port, 'EMFILE')
  const head = await upgrade(gw.url)
  t.match(head, /^HTTP\/1\.1 503 /)
  t.match(head, /\r\nretry-after: 1(\r\n|$)/i)
  const target = gw.gateway.status().pools.p!.targets[0]!
  t.equal(target.inFlight, 0, 'the attempt\'s in-flight slot was released')
  t.equal(target.failures, 0)
  const series = seriesOf(await gw.gateway.metrics!.render())
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 'p', target: a.id, outcome: 'local-error' })], 1, 'counted as a local-error attempt')
  failing.delete(a.port)
  t.match(await upgrade(gw.url), /^HTTP\/1\.1 101 /, 'served once the descriptors are back')
})

t.test('upgrades forced onto a canary that fail locally do not roll the canary back', async (t) => {
  const [stable, next] = await Promise.all([upstream(t), upstream(t)])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, next: { targets: [next.url], retry: { attempts: 1 } } },
    routes: [{ name: 'app', path: '/', pool: 'stable', canary: { pool: 'next', weight: 50, force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 5, minRequests: 2, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(next.port); return gw.close() })
  failing.set(next.port, 'EMFILE')
  for (let i = 0; i < 4; i++) t.match(await upgrade(gw.url, { 'x-canary': 'always' }), /^HTTP\/1\.1 503 /)
  const canary = gw.gateway.status().routes.find((r) => r.name === 'app')!.canary!
  t.match(canary, { weight: 50, weightSource: 'file' }, 'no rollback for the gateway\'s own shortage')
})

t.test('requests forced onto a canary that fail locally do not roll the canary back', async (t) => {
  const [stable, next] = await Promise.all([upstream(t), upstream(t)])
  const gw = await startGateway({
    pools: { stable: { targets: [stable.url] }, next: { targets: [next.url], retry: { attempts: 1 } } },
    routes: [{ name: 'app', path: '/', pool: 'stable', canary: { pool: 'next', weight: 50, force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 5, minRequests: 2, windowMs: 30_000 } } }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(next.port); return gw.close() })
  failing.set(next.port, 'EMFILE')
  for (let i = 0; i < 4; i++) t.match(await get(`${gw.url}/x`, { 'x-canary': 'always' }), { status: 503, error: 'overloaded' })
  const canary = gw.gateway.status().routes.find((r) => r.name === 'app')!.canary!
  t.match(canary, { weight: 50, weightSource: 'file' }, 'no rollback for the gateway\'s own shortage')
})

t.test('a mirrored copy whose connect fails locally is counted local-error, no failure of the shadow target', async (t) => {
  const [main, shadow] = await Promise.all([upstream(t), upstream(t)])
  const gw = await startGateway({
    pools: { p: { targets: [main.url] }, m: { targets: [shadow.url] } },
    routes: [{ path: '/', pool: 'p', mirror: { pool: 'm' } }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(shadow.port); return gw.close() })
  failing.set(shadow.port, 'EMFILE')
  t.equal((await get(`${gw.url}/x`)).status, 200)
  const counted = async (): Promise<number | undefined> => seriesOf(await gw.gateway.metrics!.render())[key('switchyard_upstream_attempts_total', { pool: 'm', target: shadow.id, outcome: 'local-error' })]
  await waitFor(async () => (await counted()) !== undefined)
  t.equal(await counted(), 1, 'the copy counted local-error')
  t.equal(gw.gateway.status().pools.m!.targets[0]!.failures, 0, 'no failure of the shadow target')
})

t.test('health probes that cannot be sent for a local shortage are no verdict; a refused connect still is', async (t) => {
  const a = await upstream(t)
  failing.set(a.port, 'EMFILE')
  const gw = await startGateway({
    pools: { p: { targets: [a.url], healthCheck: { intervalMs: 20, timeoutMs: 20, unhealthyThreshold: 1, healthyThreshold: 1, jitter: 0 } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  t.teardown(() => { failing.delete(a.port); return gw.close() })
  const target = () => gw.gateway.status().pools.p!.targets[0]!
  // the connects counted are the probes' (no request is sent meanwhile)
  const before = refused.get(a.port) ?? 0
  await waitFor(() => (refused.get(a.port) ?? 0) >= before + 3)
  t.equal(target().state, 'healthy', 'three probes failed for want of a descriptor: the target is not marked down')
  failing.set(a.port, 'ECONNREFUSED')
  await waitFor(() => target().state === 'unhealthy')
  t.pass('a probe the target refused marks it down (unhealthyThreshold 1)')
})

// isLocalResourceError on failed name lookups and EADDRNOTAVAIL, what the injected host tests leave open:
// - a lookup is known by its syscall (getaddrinfo) whatever its code, or by one of getaddrinfo's codes without one;
// - the real descriptor check says "none left" for EMFILE and ENFILE only;
// - the real IPv6 check looks for an IPv6 address, not just any.
// The real checks are driven by replacing node:fs / node:os functions for one synchronous call
// (module.syncBuiltinESMExports carries the replacement to the named imports of src/resilience/classify.ts).
t.test('local-resource-errors-more', async (t) => {
  const noFds = { fdsLeft: () => false, hasIpv6: () => true }
  const fdsLeft = { fdsLeft: () => true, hasIpv6: () => true }

  /** Runs `fn` with `obj[key]` replaced, the builtin's ESM named exports synced both ways. */
  function withReplaced<O extends object, K extends keyof O, R> (obj: O, key: K, value: O[K], fn: () => R): R {
    const saved = obj[key]
    obj[key] = value
    syncBuiltinESMExports()
    try {
      return fn()
    } finally {
      obj[key] = saved
      syncBuiltinESMExports()
    }
  }

  t.test('a failed lookup is known by its syscall, whatever its code', async (t) => {
    const err = Object.assign(new Error('getaddrinfo ENODATA example.test'), { code: 'ENODATA', syscall: 'getaddrinfo', hostname: 'example.test' })
    t.equal(isLocalResourceError(err, noFds), true, 'no descriptor left: the gateway\'s')
    t.equal(isLocalResourceError(err, fdsLeft), false, 'descriptors left: the name\'s')
  })

  t.test("each of getaddrinfo's codes is a lookup without a syscall said", async (t) => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_SYSTEM', 'EBUSY']) {
      const err = Object.assign(new Error(code), { code })
      t.equal(isLocalResourceError(err, noFds), true, `${code}, no descriptor left`)
      t.equal(isLocalResourceError(err, fdsLeft), false, `${code}, descriptors left`)
    }
  })

  t.test('the real descriptor check: EMFILE and ENFILE say none left, another failure does not', async (t) => {
    const lookup = Object.assign(new Error('getaddrinfo EBUSY localhost'), { code: 'EBUSY', syscall: 'getaddrinfo', hostname: 'localhost' })
    for (const [code, local] of [['EMFILE', true], ['ENFILE', true], ['EACCES', false]] as const) {
      const failing = (() => { throw Object.assign(new Error(`${code}: open '/dev/null'`), { code }) }) as unknown as typeof fs.openSync
      t.equal(withReplaced(fs, 'openSync', failing, () => isLocalResourceError(lookup)), local, `open fails ${code}`)
    }
  })

  t.test('the real IPv6 check looks for an IPv6 address', async (t) => {
    const refused = Object.assign(new Error('connect EADDRNOTAVAIL ::1:80'), { code: 'EADDRNOTAVAIL', syscall: 'connect', address: '::1', port: 80 })
    const v4 = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' } as const
    const v6 = { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 } as const
    const only = (...addresses: os.NetworkInterfaceInfo[]) => (() => ({ lo: addresses })) as typeof os.networkInterfaces
    t.equal(withReplaced(os, 'networkInterfaces', only(v4), () => isLocalResourceError(refused)), false, 'IPv4 only: the IPv6 target\'s address is the fault')
    t.equal(withReplaced(os, 'networkInterfaces', only(v4, v6), () => isLocalResourceError(refused)), true, 'IPv6 here: out of local ports')
  })
})
